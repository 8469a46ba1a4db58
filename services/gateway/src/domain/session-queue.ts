import { SETTLED, type Session } from "./session.js";

/**
 * Runs `work` after everything the session already has in flight, so replies keep the order of
 * requests. A failure is logged and does not stop the requests behind it.
 */
export function enqueue(session: Session, work: () => Promise<void>): void {
  // When the last queued request is done, an idle session holds the shared settled promise
  // again, not the last one it made.
  const settled = (): void => {
    if (session.chain === chain) session.chain = SETTLED;
  };
  const chain: Promise<void> = session.chain.then(work).then(settled, (err: unknown) => {
    session.log.error({ err }, "request handler failed");
    settled();
  });
  session.chain = chain;
}
