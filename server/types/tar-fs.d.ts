// tar-fs (the packer dockerode itself uses) ships no types: these are the parts of pack that ghostd uses.
declare module "tar-fs" {
  import type { Readable } from "node:stream";

  export interface Headers {
    name: string;
    mode: number;
    mtime: Date;
    size: number;
    type: string;
    uid: number;
    gid: number;
    linkname?: string;
  }

  export interface PackOptions {
    /** What to pack, relative to `cwd`; a directory among them is walked unless `ignore` refuses its children. */
    entries?: string[];
    /** Called with the absolute path of each child of a directory being walked; true leaves it out. */
    ignore?: (name: string) => boolean;
    map?: (header: Headers) => Headers;
  }

  export function pack(cwd: string, options?: PackOptions): Readable;
}
