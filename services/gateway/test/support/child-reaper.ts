import type { ChildProcess } from "node:child_process";

/*
 * Every server process a test starts is registered here and killed when the test worker exits,
 * even if the test failed before its own cleanup ran: a leaked gateway or redis-server would
 * hold ports and CPU for every later run on the machine.
 */
const live = new Set<ChildProcess>();
let hooked = false;

export function reapOnExit(child: ChildProcess): void {
  live.add(child);
  child.once("exit", () => live.delete(child));
  if (hooked) return;
  hooked = true;
  process.once("exit", () => {
    for (const proc of live) {
      try {
        proc.kill("SIGKILL");
      } catch {
        // already gone
      }
    }
  });
}
