import type { Logger } from "pino";
import type { Adapters } from "./adapters/adapters.js";
import type { Config } from "./config.js";
import { ChatNode } from "./domain/chat-node.js";
import { RoomPolicy } from "./domain/room-access.js";
import { SharedLimits } from "./domain/shared-limits.js";
import type { Metrics } from "./metrics.js";
import { attachAdminRoutes } from "./transport/admin-app.js";
import { ChatSocket } from "./transport/chat-socket.js";
import { ClientAddress } from "./transport/client-address.js";
import { attachHttpRoutes, attachNotFound } from "./transport/http-routes.js";
import { attachServerApi } from "./transport/server-api.js";
import { ServerOps } from "./domain/server-ops.js";
import { DeadLetters, WebhookDispatcher } from "./domain/webhook-dispatcher.js";
import { HttpPublishHook } from "./adapters/http/publish-hook-client.js";
import { PublishScreen } from "./domain/publish-hook.js";
import { HttpWebhookSender } from "./adapters/http/webhook-sender.js";
import { IdentityVerifier } from "./transport/identity.js";
import { attachWebApp } from "./transport/static-files.js";
import type { TemplatedApp, us_listen_socket } from "./transport/uws.js";
import type * as UWS from "uWebSockets.js";

export interface GatewayDeps {
  readonly uws: typeof UWS;
  readonly config: Config;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly adapters: Adapters;
}

/**
 * One gateway node: the public app (WebSocket, HTTP API), the admin app (metrics), the chat
 * domain between them, and the drain sequence.
 */
export class Gateway {
  private draining = false;
  private publicSocket: us_listen_socket | undefined;
  private adminSocket: us_listen_socket | undefined;
  private readonly app: TemplatedApp;
  private readonly admin: TemplatedApp;
  private readonly chat: ChatNode;
  private readonly chatSocket: ChatSocket;
  private readonly backendProbe: NodeJS.Timeout;
  private readonly verifier: IdentityVerifier;
  /** Drains the outbox to the webhook endpoints (only with PARLEY_WEBHOOKS). */
  private readonly dispatcher: WebhookDispatcher | undefined;
  /** Whether `/` serves the web app (a build was found and loaded). */
  readonly servesWebApp: boolean;

  constructor(private readonly deps: GatewayDeps) {
    const { uws, config, log, metrics, adapters } = deps;
    this.app = uws.App();
    this.admin = uws.App();
    const app = this.app;
    const afterPublish = (topic: string): void => this.chatSocket.afterPublish(topic);
    // Security: who may use which room, where a request really comes from, cluster-wide buckets.
    const rooms = new RoomPolicy(config.auth.privateRooms);
    const addresses = new ClientAddress(config.auth.trustedProxies);
    const shared = new SharedLimits(adapters.limiter, config.limits, metrics, log.child({ component: "limits" }));
    this.verifier = new IdentityVerifier(config.auth);
    const hookUrl = config.publishHook.url;
    this.chat = new ChatNode({
      publishScreen:
        hookUrl === undefined
          ? undefined
          : new PublishScreen({
              hook: new HttpPublishHook({ ...config.publishHook, url: hookUrl }),
              failOpen: config.publishHook.failOpen,
              maxTextLength: config.limits.maxTextLength,
              metrics,
            }),
      nodeId: config.server.nodeId,
      broker: adapters.broker,
      store: adapters.store,
      presence: adapters.presence,
      moderation: adapters.moderation,
      users: adapters.users,
      guestNames: adapters.guestNames,
      conversationsConfig: config.conversations,
      limits: config.limits,
      shared,
      metrics,
      log: log.child({ component: "chat" }),
      fanout: {
        publish(topic, frame) {
          const subscribers = app.numSubscribers(topic);
          if (subscribers === 0) return;
          app.publish(topic, frame);
          metrics.messagesDelivered.inc(subscribers);
          afterPublish(topic);
        },
        publishExcept: (topic, frame, session, instead) => {
          const skipped = this.chatSocket.subscriber(topic, session);
          const subscribers = app.numSubscribers(topic);
          if (skipped === undefined) {
            if (subscribers === 0) return;
            app.publish(topic, frame);
          } else {
            skipped.publishToOthers(topic, frame);
            skipped.send(instead);
          }
          metrics.messagesDelivered.inc(skipped === undefined ? subscribers : subscribers - 1);
          afterPublish(topic);
        },
      },
    });
    this.chatSocket = new ChatSocket({
      chat: this.chat,
      verifier: this.verifier,
      rooms,
      addresses,
      shared,
      auth: config.auth,
      limits: config.limits,
      metrics,
      log: log.child({ component: "socket" }),
      moderation: adapters.moderation,
      isDraining: () => this.draining,
    });
    this.chatSocket.attach(app);
    attachHttpRoutes(app, {
      presence: adapters.presence,
      isReady: () => this.isReady(),
      verifier: this.verifier,
      rooms,
      addresses,
      shared,
      guests: config.auth.guests,
      metrics,
    });
    const sender = new HttpWebhookSender(config.webhooks.timeoutMs);
    const outbox = adapters.outbox;
    this.dispatcher =
      outbox === undefined
        ? undefined
        : new WebhookDispatcher({
            nodeId: config.server.nodeId,
            outbox,
            sender,
            config: config.webhooks,
            liveNodes: async () => (await adapters.presence.nodes()).length,
            metrics,
            log: log.child({ component: "webhooks" }),
          });
    attachServerApi(app, {
      ops: new ServerOps({
        chat: this.chat,
        store: adapters.store,
        presence: adapters.presence,
        moderation: adapters.moderation,
        systemUser: config.auth.systemUser,
        maxTextLength: config.limits.maxTextLength,
        revocationTtlMs: config.serverApi.revocationTtlSeconds * 1000,
        deadLetters: new DeadLetters(outbox, sender, config.webhooks.endpoints, metrics),
      }),
      config: config.serverApi,
      shared,
      metrics,
      log: log.child({ component: "server-api" }),
    });
    this.servesWebApp = attachWebApp(app, config.server.webRoot, log.child({ component: "web" })) !== undefined;
    attachNotFound(app, metrics);
    attachAdminRoutes(this.admin, metrics.registry);
    this.backendProbe = setInterval(() => {
      metrics.backendUp.set(this.backendUp() ? 1 : 0);
      metrics.roomSubscriptions.set(this.chat.relaySubscriptions);
    }, 1000);
    this.backendProbe.unref();
    metrics.backendUp.set(this.backendUp() ? 1 : 0);
  }

  private backendUp(): boolean {
    return this.deps.adapters.broker.isReady() && this.deps.adapters.store.isReady();
  }

  isReady(): boolean {
    return !this.draining && this.backendUp();
  }

  /** Listens on both ports; resolves with the ports actually bound (0 asks for a free one). */
  async listen(): Promise<{ port: number; adminPort: number }> {
    const { uws, config } = this.deps;
    // A JWT key that cannot be used stops the start here, not at the first sign-in.
    await this.verifier.check();
    this.publicSocket = await listenOn(this.app, config.server.host, config.server.port, "PORT");
    this.adminSocket = await listenOn(this.admin, config.server.host, config.server.adminPort, "ADMIN_PORT");
    this.deps.adapters.presence.start(() => ({ connections: this.chatSocket.size }));
    this.dispatcher?.start();
    return { port: uws.us_socket_local_port(this.publicSocket), adminPort: uws.us_socket_local_port(this.adminSocket) };
  }

  /**
   * Graceful drain: readiness false and no new upgrades; the public listener closes so the
   * kernel sends new connections to sibling nodes; clients get 1001 in paced batches and
   * reconnect elsewhere; presence is cleaned up; then the backend and the admin port close.
   */
  async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    const { uws, config, log, metrics, adapters } = this.deps;
    metrics.draining.set(1);
    log.info({ connections: this.chatSocket.size }, "draining");
    if (this.publicSocket !== undefined) uws.us_listen_socket_close(this.publicSocket);
    this.publicSocket = undefined;
    await this.chatSocket.closeAll(config.drain.batchSize, config.drain.batchIntervalMs);
    await this.chat.settle();
    this.chatSocket.stop();
    clearInterval(this.backendProbe);
    // After the sessions' presence cleanup (its events are in the outbox): other gateways
    // take the shards over at once and deliver them.
    await this.dispatcher?.stop();
    await adapters.close();
    if (this.adminSocket !== undefined) uws.us_listen_socket_close(this.adminSocket);
    this.adminSocket = undefined;
    log.info("drained");
  }
}

function listenOn(app: TemplatedApp, host: string, port: number, name: string): Promise<us_listen_socket> {
  return new Promise((resolve, reject) => {
    app.listen(host, port, (socket) => {
      if (socket === false) reject(new Error(`cannot listen on ${host}:${port} (${name}): port in use or not permitted`));
      else resolve(socket);
    });
  });
}
