import assert from "node:assert/strict";
import { fromStdinText, readSecrets, SecretInputError, type SecretOptions, type SecretSources } from "../../cli/secrets";

/** Sources with these files and this standard input; warnings are collected. */
function sources(files: Record<string, string> = {}, stdin = "", env: Record<string, string> = {}): SecretSources & { warnings: string[] } {
  const warnings: string[] = [];
  return {
    env,
    warnings,
    readFile: (path) => {
      const content = files[path];
      if (content === undefined) throw Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), { code: "ENOENT" });
      return content;
    },
    readStdin: () => stdin,
    warn: (message) => warnings.push(message),
  };
}

/** Asserts reading fails with a SecretInputError matching `message`, and that it does not hold `value`. */
function failsWithout(options: SecretOptions, from: SecretSources, message: RegExp, value: string): void {
  assert.throws(
    () => readSecrets(options, from),
    (err: unknown) => {
      assert.ok(err instanceof SecretInputError, String(err));
      assert.match(err.message, message);
      assert.ok(!err.message.includes(value), `"${err.message}" holds the value`);
      return true;
    },
  );
}

describe("ghostctl's secrets", () => {
  it("takes --secret NAME from the environment, and --secret-file less one trailing newline", () => {
    const from = sources({ "/s/a": "one\n\n", "/s/b": "two\r\n", "/s/c": "three" }, "", { TOKEN: "from-env" });
    const secrets = readSecrets({ secret: ["TOKEN"], secretFile: ["A=/s/a", "B=/s/b", "C=/s/c"] }, from);
    assert.deepEqual(secrets, { TOKEN: "from-env", A: "one\n", B: "two", C: "three" });
    assert.deepEqual(from.warnings, []);
  });

  it("keeps --secret NAME=VALUE, warning once per value and naming only the name", () => {
    const from = sources();
    assert.deepEqual(readSecrets({ secret: ["TOKEN=a=b"] }, from), { TOKEN: "a=b" });
    assert.equal(from.warnings.length, 1);
    assert.match(from.warnings[0] ?? "", /^--secret TOKEN=VALUE puts the value on the command line, where other local users can read it/);
    assert.ok(!from.warnings[0]?.includes("a=b"));
  });

  it("reads NAME=VALUE lines, export, quotes, comments and CRLF from standard input", () => {
    const text = "# comment\n\n  A=plain value \r\nexport B='single # not a comment'\nC=\"double\"\nD=\nE=\"\"\nF=x=y\n";
    assert.deepEqual(fromStdinText(text), [["A", "plain value "], ["B", "single # not a comment"], ["C", "double"], ["D", ""], ["E", ""], ["F", "x=y"]]);
    assert.deepEqual(readSecrets({ secretsFromStdin: true }, sources({}, "A=1\n")), { A: "1" });
    assert.deepEqual(readSecrets({}, sources({}, "A=1\n")), {}, "standard input is read only when asked");
  });

  it("fails on what it cannot read, never repeating a value", () => {
    const value = "hunter2-value";
    failsWithout({ secret: ["UNSET"] }, sources(), /^--secret UNSET: the environment variable UNSET is not set/, value);
    failsWithout({ secret: [`${value} with spaces`] }, sources(), /^--secret: the argument is not an environment variable name/, value);
    failsWithout({ secret: [`bad name=${value}`] }, sources(), /^--secret: the name before = is not an environment variable name$/, value);
    failsWithout({ secretFile: [value] }, sources(), /^--secret-file takes NAME=PATH$/, value);
    failsWithout({ secretFile: ["A=/nowhere"] }, sources(), /^--secret-file A: cannot read \/nowhere: no such file$/, value);
    failsWithout({ secretsFromStdin: true }, sources({}, `A=1\n${value}\n`), /^--secrets-from-stdin: line 2 is not NAME=VALUE$/, value);
    failsWithout({ secretsFromStdin: true }, sources({}, `1A=${value}\n`), /^--secrets-from-stdin: line 1: the name before = is not an environment variable name$/, value);
    failsWithout({ secretsFromStdin: true }, sources({}, `A="${value}\n"\n`), /^--secrets-from-stdin: line 1: the value's opening quote is not closed/, value);
    failsWithout({ secret: ["A"], secretsFromStdin: true }, sources({}, `A=${value}\n`, { A: value }), /^the secret A is given twice$/, value);
  });
});
