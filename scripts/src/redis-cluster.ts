/*
 * A local Redis Cluster of real redis-server processes on loopback ports, in a temporary
 * directory: N masters (and optionally one replica each), created with
 * `redis-cli --cluster create`, then waited on until every node reports cluster_state:ok and
 * agrees on the 16,384 slots. Used by `REDIS_MODE=cluster pnpm start`, by the gateway's Redis
 * Cluster tests and by `pnpm bench:cluster`, so they all run the same cluster. No dependencies
 * beyond Node; every wait is bounded.
 */
export { ClusterNode, clusterNodes, commandCalls, freeClusterPort, type ClusterNodeRow } from "./redis-cluster/cluster-node.js";
export { LocalRedisCluster, startRedisCluster, type RedisClusterOptions } from "./redis-cluster/local-redis-cluster.js";
export { redisCommand, type RedisReply } from "./redis-cluster/resp.js";
export { freeLoopbackPort } from "./net.js";
