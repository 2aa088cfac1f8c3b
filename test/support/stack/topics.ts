/**
 * Reads Kafka topics of the real stack with kafkajs (pure JavaScript, nothing
 * downloaded at install). One long-lived consumer per watched topic collects
 * every record from the beginning; reads return what has arrived so far, so
 * tests poll them the way they poll the double's in-memory topics.
 *
 * Values written by Connect's JsonConverter with schemas enabled arrive as
 * `{ schema, payload }`; {@link TopicReader.values} unwraps the payload.
 */
import { Kafka, logLevel, type Consumer } from "kafkajs";

export interface TopicRecord {
  key: unknown;
  value: unknown;
  offset: string;
  partition: number;
}

function parse(buf: Buffer | null): unknown {
  if (buf === null) return null;
  const text = buf.toString("utf8");
  try {
    const json = JSON.parse(text) as unknown;
    if (json && typeof json === "object" && "payload" in json && "schema" in json) return (json as { payload: unknown }).payload;
    return json;
  } catch {
    return text;
  }
}

export class TopicReader {
  private readonly kafka: Kafka;
  private readonly collected = new Map<string, TopicRecord[]>();
  private readonly consumers = new Map<string, Promise<Consumer | undefined>>();
  private closed = false;

  constructor(bootstrap: string) {
    process.env.KAFKAJS_NO_PARTITIONER_WARNING = "1";
    this.kafka = new Kafka({ clientId: "cdc-tests", brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 8, initialRetryTime: 100 } });
  }

  private async topicExists(topic: string): Promise<boolean> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      return (await admin.listTopics()).includes(topic);
    } finally {
      await admin.disconnect();
    }
  }

  /** Starts collecting `topic` if it exists (a topic that does not exist yet is tried again on the next read). */
  private watch(topic: string): Promise<Consumer | undefined> {
    const existing = this.consumers.get(topic);
    if (existing) return existing;
    const started = (async () => {
      if (this.closed || !(await this.topicExists(topic))) return undefined;
      const consumer = this.kafka.consumer({ groupId: `cdc-tests-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`, maxWaitTimeInMs: 100 });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const records: TopicRecord[] = [];
      this.collected.set(topic, records);
      await consumer.run({
        autoCommit: false,
        eachMessage: async ({ message, partition }) => {
          records.push({ key: parse(message.key), value: parse(message.value), offset: message.offset, partition });
        },
      });
      return consumer;
    })();
    this.consumers.set(topic, started);
    started.then(
      (c) => {
        if (!c) this.consumers.delete(topic);
      },
      () => this.consumers.delete(topic),
    );
    return started;
  }

  /** Every record of the topic collected so far (empty while the topic does not exist). */
  async records(topic: string): Promise<TopicRecord[]> {
    await this.watch(topic);
    return [...(this.collected.get(topic) ?? [])];
  }

  /** Values (payloads) of the records, tombstones left out. */
  async values<T = unknown>(topic: string): Promise<T[]> {
    return (await this.records(topic)).filter((r) => r.value !== null).map((r) => r.value as T);
  }

  async topics(): Promise<string[]> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      return await admin.listTopics();
    } finally {
      await admin.disconnect();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.consumers.values()];
    this.consumers.clear();
    for (const c of all) await (await c.catch(() => undefined))?.disconnect().catch(() => undefined);
  }
}
