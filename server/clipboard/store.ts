/** The daemon's clipboard: what copy_to_clipboard writes, paste_from_clipboard reads, and the Host API serves. */
export interface ClipboardContent {
  readonly data: Buffer;
  /** A clipboard type such as `public.utf8-plain-text`. */
  readonly type: string;
}

export const PLAIN_TEXT = "public.utf8-plain-text";

export class ClipboardStore {
  private content: ClipboardContent = { data: Buffer.alloc(0), type: PLAIN_TEXT };

  get(): ClipboardContent {
    return this.content;
  }

  set(data: Buffer, type: string = PLAIN_TEXT): void {
    this.content = { data, type };
  }

  get text(): string {
    return this.content.data.toString("utf8");
  }
}
