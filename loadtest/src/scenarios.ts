/* The scenarios the bench runs; one module per scenario, re-exported here. */
export { SOCKETS_PER_CLIENT, fmtRate, type Log } from "./scenario-util.ts";
export { fanoutLadder, searchRate, soak, type FanoutResult, type FanoutSettings, type RateSearch, type SoakResult, type StepResult } from "./fanout.ts";
export { connectionHold, type ConnectionResult, type ConnectionSettings } from "./connections.ts";
export { dmPingPong, type DmResult } from "./dm.ts";
