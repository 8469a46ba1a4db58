import "./styles.css";
import { gravatarUrl } from "./avatar.js";
import { loadEmoji } from "./emoji.js";
import { guestKey, lastProfile, saveProfile, sessionProfile, type Profile } from "./persist.js";
import { ChatStore } from "./store.js";
import { ChatView } from "./views/chat-view.js";
import { JoinView } from "./views/join-view.js";

/** The gateway that served this page also serves the chat socket, at `/ws` on the same origin. */
function socketUrl(): string {
  return `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/ws`;
}

function mount(el: HTMLElement): void {
  const root = document.getElementById("app");
  if (root === null) throw new Error("index.html has no #app element");
  root.replaceChildren(el);
}

/** The join screen; `problem` says why the last try did not get in (a name in use elsewhere). */
function showJoin(problem?: string): void {
  const view = new JoinView(lastProfile(), (profile) => void enter(profile), problem);
  mount(view.el);
  view.focus();
}

async function enter(profile: Profile): Promise<void> {
  saveProfile(profile);
  const [picture] = await Promise.all([gravatarUrl(profile.email).catch(() => undefined), loadEmoji()]);
  const store = new ChatStore(profile.name, socketUrl(), guestKey());
  store.selfAvatar = picture;
  const leave = (problem?: string): void => {
    store.close();
    view.dispose();
    saveProfile(undefined);
    showJoin(problem);
  };
  const view = new ChatView(store, () => leave());
  store.on("refused", (text) => leave(text));
  mount(view.el);
  view.focus();
}

// The emoji table loads while the person types their name.
void loadEmoji();
const resumed = sessionProfile();
if (resumed !== undefined) void enter(resumed);
else showJoin();
