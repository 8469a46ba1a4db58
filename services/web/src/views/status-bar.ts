import { h, setText } from "../dom.js";
import type { ChatStore } from "../store.js";

type Shown = "connecting" | "connected" | "reconnecting" | "offline" | "closed";

/**
 * The connection, always in sight: which node serves this tab, or that the app is reconnecting
 * (and that what you type meanwhile will be sent), plus the last problem the server reported.
 */
export class StatusBar {
  readonly el: HTMLElement;
  private readonly text: HTMLSpanElement;
  private readonly pending: HTMLSpanElement;
  private readonly problem: HTMLSpanElement;
  private readonly reload: HTMLButtonElement;
  private problemTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly store: ChatStore) {
    this.text = h("span", { class: "status-text", attrs: { "data-testid": "connection" } });
    this.pending = h("span", { class: "status-pending" });
    this.problem = h("span", { class: "status-problem", attrs: { role: "alert" } });
    this.reload = h("button", { class: "link", attrs: { type: "button", hidden: true }, on: { click: () => location.reload() } }, "Reconnect");
    // The footer keeps its own landmark role; the live region is the part inside it that changes.
    this.el = h(
      "footer",
      { class: "status-bar" },
      h("div", { class: "status-live", attrs: { role: "status" } }, h("span", { class: "status-dot", attrs: { "aria-hidden": "true" } }), this.text, this.reload, this.pending),
      this.problem,
    );
    const render = (): void => this.render();
    store.on("connection", render);
    store.on("outgoing", render);
    store.on("outgoingDone", render);
    store.on("problem", (text) => this.showProblem(text));
    globalThis.addEventListener("online", render);
    globalThis.addEventListener("offline", render);
    this.render();
  }

  private state(): Shown {
    const state = this.store.state;
    if (state === "reconnecting" && !navigator.onLine) return "offline";
    return state === "closed" ? "closed" : state;
  }

  private render(): void {
    const state = this.state();
    this.el.dataset["state"] = state;
    const node = this.store.node;
    const text: Record<Shown, string> = {
      connecting: "Connecting…",
      connected: node !== undefined ? `Connected to ${node}` : "Connected",
      reconnecting: "Reconnecting…",
      offline: "Offline — reconnecting when the network is back",
      closed: "Disconnected",
    };
    setText(this.text, text[state]);
    this.reload.hidden = state !== "closed";
    const waiting = this.store.pendingCount;
    setText(this.pending, waiting === 0 ? "" : `${waiting} message${waiting === 1 ? "" : "s"} waiting to send`);
  }

  private showProblem(text: string): void {
    setText(this.problem, text);
    clearTimeout(this.problemTimer);
    this.problemTimer = setTimeout(() => setText(this.problem, ""), 8000);
  }
}
