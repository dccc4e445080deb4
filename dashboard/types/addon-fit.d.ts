// The daemon serves the fit addon at this URL; its typings declare the package name, re-exported here.
export * from "@xterm/addon-fit";
