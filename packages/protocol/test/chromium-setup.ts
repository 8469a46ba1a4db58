import fc from "fast-check";

/*
 * The Chromium pass re-runs tests that already pass in Node, to catch what only another runtime
 * breaks (a Node global such as Buffer). Such a failure is reported as found, without shrinking:
 * shrinking a property that fails on most long inputs runs for minutes, synchronously, where no
 * test timeout can interrupt it. Shrunk counterexamples come from the Node pass.
 */
fc.configureGlobal({ endOnFailure: true });
