import assert from "node:assert/strict";
import { SecretMask } from "../../../server/supervisor/secret-mask";

describe("secret masks", () => {
  const secret = "?>?~~~ü x/&=+%tail";
  const bytes = Buffer.from(secret);
  const mask = new SecretMask([secret, "abc"]);

  it("masks the value and its base64, base64url, percent and hex forms whole", () => {
    const b64 = bytes.toString("base64");
    const forms = [
      secret,
      b64,
      b64.replace(/=+$/, ""),
      bytes.toString("base64url"),
      bytes.toString("base64url").padEnd(b64.length, "="),
      encodeURIComponent(secret),
      encodeURIComponent(secret).replaceAll("%20", "+"),
      new URLSearchParams({ t: secret }).toString().slice(2),
      encodeURIComponent(secret).toLowerCase(),
      bytes.toString("hex"),
      bytes.toString("hex").toUpperCase(),
    ];
    assert.equal(new Set(forms).size, forms.length, "the forms all differ");
    for (const form of forms) assert.equal(mask.apply(`a ${form} b`), "a *** b", form);
  });

  it("masks base64 of the value inside a longer encoded text, whatever its place", () => {
    for (const before of ["", "u:", "user:", "longer-user:"]) {
      const encoded = Buffer.from(`${before}${secret}!!`).toString("base64");
      const masked = mask.apply(encoded);
      assert.match(masked, /^[A-Za-z0-9+/]{0,17}\*\*\*[A-Za-z0-9+/]{0,4}=*$/, before);
      assert.ok(masked.length < encoded.length - 20, `${before}: most of it is masked`);
    }
  });

  it("leaves values under four characters, and text without a secret, as they are", () => {
    assert.equal(mask.apply("abc YWJj 616263"), "abc YWJj 616263");
    assert.equal(new SecretMask([]).apply("nothing to hide"), "nothing to hide");
  });

  it("holds back the end of a text that may begin a secret", () => {
    const [head, tail] = mask.holdBack(`${"x".repeat(100)}${secret.slice(0, 5)}`);
    assert.equal(head + tail, `${"x".repeat(100)}${secret.slice(0, 5)}`);
    assert.ok(tail.endsWith(secret.slice(0, 5)) && !head.includes("?>?"), "the start of the secret waits");
    assert.equal(mask.apply(tail + secret.slice(5)).endsWith("***"), true);
    assert.deepEqual(new SecretMask([]).holdBack("all of it"), ["all of it", ""]);
  });

  it("masks a huge secret's percent forms without building a pattern from it", () => {
    const huge = "k y".repeat(3000);
    const big = new SecretMask([huge]);
    assert.equal(big.apply(`<${encodeURIComponent(huge)}>`), "<***>");
    assert.equal(big.apply(`<${encodeURIComponent(huge).replaceAll("%20", "+")}>`), "<***>");
  });
});
