import assert from "node:assert/strict";
import { userEnvironment } from "../../cli/user-env";

describe("userEnvironment", () => {
  const npmRun = {
    npm_lifecycle_event: "start",
    npm_execpath: "/usr/lib/node_modules/npm/bin/npm-cli.js",
    npm_node_execpath: "/usr/bin/node",
    npm_config_cache: "/root/.npm",
    NODE: "/usr/bin/node",
    COLOR: "0",
    INIT_CWD: "/src/ghostd",
    EDITOR: "vi",
    HOME: "/root",
    PATH: "/src/ghostd/node_modules/.bin:/src/node_modules/.bin:/node_modules/.bin:/usr/lib/node_modules/npm/node_modules/@npmcli/run-script/lib/node-gyp-bin:/usr/local/bin:/usr/bin:/opt/tool/node_modules/.bin",
  };

  it("drops what npm adds and keeps the user's own", () => {
    assert.deepEqual(userEnvironment(npmRun), { EDITOR: "vi", HOME: "/root", PATH: "/usr/local/bin:/usr/bin:/opt/tool/node_modules/.bin" });
  });

  it("keeps a NODE the user set to another node", () => {
    assert.equal(userEnvironment({ ...npmRun, NODE: "/opt/node22/bin/node" }).NODE, "/opt/node22/bin/node");
  });

  it("leaves an environment npm did not touch as it is", () => {
    const plain = { PATH: "/home/me/node_modules/.bin:/usr/bin", NODE: "/usr/bin/node", COLOR: "1", UNSET: undefined };
    assert.deepEqual(userEnvironment(plain), { PATH: "/home/me/node_modules/.bin:/usr/bin", NODE: "/usr/bin/node", COLOR: "1" });
  });
});
