import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { dataDirs, execArguments, findEntry, parseEntry } from "../../../server/agent/desktop-entries";
import { tempDir } from "../../helpers/tmp";

describe("XDG desktop entries", () => {
  const entry = (exec: string, icon?: string) => ({ id: "org.example.App", file: "/apps/org.example.App.desktop", name: "My App", exec, icon });

  it("splits Exec lines as the specification quotes them", () => {
    assert.deepEqual(execArguments(entry('/bin/app --title "two words" "quote \\" inside" plain'), []), ["/bin/app", "--title", "two words", 'quote " inside', "plain"]);
    assert.deepEqual(execArguments(entry('app ""'), []), ["app", ""]);
  });

  it("expands field codes", () => {
    assert.deepEqual(execArguments(entry("app %f"), ["/a.txt", "/b.txt"]), ["app", "/a.txt"]);
    assert.deepEqual(execArguments(entry("app %F"), ["/a.txt", "/b.txt"]), ["app", "/a.txt", "/b.txt"]);
    assert.deepEqual(execArguments(entry("app %U --x"), []), ["app", "--x"]);
    assert.deepEqual(execArguments(entry("app %i %c %k 100%%", "app-icon"), []), ["app", "--icon", "app-icon", "My App", "/apps/org.example.App.desktop", "100%"]);
    assert.deepEqual(execArguments(entry("app %i %d %m"), []), ["app"]);
  });

  it("reads the Desktop Entry group and skips what is not a launchable application", () => {
    const text = "[Desktop Entry]\nType=Application\nName=Editor\nExec=editor %f\nIcon=ed\n[Desktop Action New]\nExec=editor --new\n";
    assert.deepEqual(parseEntry("ed", "/f", text), { id: "ed", file: "/f", name: "Editor", exec: "editor %f", icon: "ed" });
    assert.equal(parseEntry("x", "/f", "[Desktop Entry]\nType=Link\nURL=http://x\n"), undefined);
    assert.equal(parseEntry("x", "/f", "[Desktop Entry]\nName=NoExec\n"), undefined);
    assert.equal(parseEntry("x", "/f", "[Desktop Entry]\nExec=x\nHidden=true\n"), undefined);
  });

  it("finds entries by desktop file id, subdirectories joined with dashes, user data first", () => {
    const dir = tempDir();
    const user = join(dir.path, "user");
    const system = join(dir.path, "system");
    mkdirSync(join(user, "applications"), { recursive: true });
    mkdirSync(join(system, "applications", "kde"), { recursive: true });
    writeFileSync(join(user, "applications", "org.x.App.desktop"), "[Desktop Entry]\nExec=user-app\n");
    writeFileSync(join(system, "applications", "org.x.App.desktop"), "[Desktop Entry]\nExec=system-app\n");
    writeFileSync(join(system, "applications", "kde", "konsole.desktop"), "[Desktop Entry]\nExec=konsole\n");
    const dirs = dataDirs({ XDG_DATA_HOME: user, XDG_DATA_DIRS: system }, "/home/u");
    assert.deepEqual(dirs, [user, system]);
    assert.equal(findEntry("org.x.App", dirs)?.exec, "user-app");
    assert.equal(findEntry("kde-konsole", dirs)?.exec, "konsole");
    assert.equal(findEntry("nothing", dirs), undefined);
    assert.deepEqual(dataDirs({}, "/home/u"), ["/home/u/.local/share", "/usr/local/share", "/usr/share"]);
    dir.remove();
  });
});
