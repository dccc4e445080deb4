// The daemon serves xterm.js at this URL; its typings declare the package name, re-exported here.
export * from "@xterm/xterm";
