/**
 * A TCP proxy on 127.0.0.1 that delays every chunk by `oneWayMs` in each
 * direction (so a request/answer exchange costs 2 x oneWayMs more, as a
 * database or Connect cluster that far away would), and counts round trips:
 * a round trip starts each time the client sends after it last heard from the
 * server (or first sends on a connection). The kernel here has no netem; this
 * keeps the benchmark's latency on loopback.
 */
import * as net from "node:net";
import type { AddressInfo } from "node:net";

export interface LatencyProxy {
  readonly port: number;
  /** Round trips and connections since the last reset. */
  counts(): { roundTrips: number; connections: number };
  reset(): void;
  close(): Promise<void>;
}

/**
 * Writes chunks to a socket `delayMs` after they arrived, strictly in arrival
 * order: one queue drained by one timer (timers of different durations that
 * fall due in the same millisecond may fire in either order, which would
 * reorder a byte stream).
 */
function delayedWriter(to: net.Socket, delayMs: number): (chunk: Buffer) => void {
  const queue: Array<{ at: number; chunk: Buffer }> = [];
  let timer: NodeJS.Timeout | undefined;
  const drain = () => {
    timer = undefined;
    const now = Date.now();
    while (queue.length && queue[0].at <= now) {
      const { chunk } = queue.shift() as { chunk: Buffer };
      if (!to.destroyed) to.write(chunk);
    }
    if (queue.length) timer = setTimeout(drain, queue[0].at - now);
  };
  return (chunk) => {
    queue.push({ at: Date.now() + delayMs, chunk });
    if (!timer) timer = setTimeout(drain, delayMs);
  };
}

export async function startLatencyProxy(upstreamPort: number, oneWayMs: number, upstreamHost = "127.0.0.1"): Promise<LatencyProxy> {
  let roundTrips = 0;
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    connections++;
    const upstream = net.connect(upstreamPort, upstreamHost);
    sockets.add(client).add(upstream);
    let serverSpokeLast = true;
    const toUpstream = delayedWriter(upstream, oneWayMs);
    const toClient = delayedWriter(client, oneWayMs);
    client.on("data", (chunk: Buffer) => {
      if (serverSpokeLast) roundTrips++;
      serverSpokeLast = false;
      toUpstream(chunk);
    });
    upstream.on("data", (chunk: Buffer) => {
      serverSpokeLast = true;
      toClient(chunk);
    });
    const end = () => {
      // Let delayed chunks go out first, then close both sides.
      setTimeout(() => {
        client.destroy();
        upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
      }, oneWayMs + 5);
    };
    client.on("close", end).on("error", end);
    upstream.on("close", end).on("error", end);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as AddressInfo).port,
    counts: () => ({ roundTrips, connections }),
    reset() {
      roundTrips = 0;
      connections = 0;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
