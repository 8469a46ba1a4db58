/**
 * The shard of a name among `shards` (FNV-1a of its UTF-16 code units): a stable spread of
 * rooms over the keys of a sharded index, the same in every gateway version.
 */
export function shardOf(name: string, shards: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) hash = Math.imul(hash ^ name.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % shards;
}
