/**
 * FakeBroadcastChannel delivers messages synchronously to the other open
 * channels of the same name, like tabs of one browser (never to the sender).
 * Every posted message is recorded, for tests that check what crosses tabs.
 */
export class FakeBroadcastChannel {
  static open = new Set<FakeBroadcastChannel>();
  static posted: { name: string; data: unknown }[] = [];

  static reset(): void {
    FakeBroadcastChannel.open.clear();
    FakeBroadcastChannel.posted = [];
  }

  readonly name: string;
  onmessage: ((event: MessageEvent) => void) | null = null;

  constructor(name: string) {
    this.name = name;
    FakeBroadcastChannel.open.add(this);
  }

  postMessage(data: unknown): void {
    const copy: unknown = structuredClone(data);
    FakeBroadcastChannel.posted.push({ name: this.name, data: copy });
    for (const other of [...FakeBroadcastChannel.open]) {
      if (other !== this && other.name === this.name) {
        other.onmessage?.(new MessageEvent('message', { data: copy }));
      }
    }
  }

  close(): void {
    FakeBroadcastChannel.open.delete(this);
  }
}
