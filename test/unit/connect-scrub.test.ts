import { strict as assert } from "node:assert";
import { Scrubber, isSecretKey, parseInvalidConfigMessage } from "#dist/connect/errors.js";

describe("connect secret scrubbing", () => {
  it("knows which config keys hold secrets", () => {
    for (const k of ["database.password", "database.sslpassword", "sasl.jaas.config", "ssl.key.password", "aws.secret.access.key", "api.key", "oauth.token", "connection.password", "basic.auth.user.info", "private.key"])
      assert.equal(isSecretKey(k), true, k);
    for (const k of ["key.converter", "value.converter", "database.user", "topic.prefix", "slot.name", "sasl.mechanism", "tasks.max", "message.key.columns"]) assert.equal(isSecretKey(k), false, k);
  });

  it("removes a password echoed in Connect's 'contains no connector type' message, even a 2-character one", () => {
    const s = new Scrubber().addConfig({ "database.password": "pw", "database.user": "dbz" });
    const msg = "Connector config {database.user=dbz, database.password=pw, name=no-class} contains no connector type";
    const out = s.scrub(msg);
    assert.equal(out, "Connector config {database.user=dbz, database.password=[redacted], name=no-class} contains no connector type");
  });

  it("removes secret values in JSON, Java maps and free text, and known extra secrets", () => {
    const s = new Scrubber(["Bearer-tok-123", "hunter2"]).addConfig({ "sasl.jaas.config": 'org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="p4ss";' });
    const text = 'body {"sasl.jaas.config":"x y", "other":"hunter2"} header Bearer-tok-123 and password="p4ss" in text';
    const out = s.scrub(text);
    for (const secret of ["Bearer-tok-123", "hunter2", "p4ss", "x y"]) assert.ok(!out.includes(secret), `${secret} in ${out}`);
    assert.match(out, /"sasl\.jaas\.config":"\[redacted\]"/);
  });

  it("scrubs URL-encoded forms and keeps unrelated text", () => {
    const s = new Scrubber(["p@ss/word"]);
    assert.equal(s.scrub("user:p%40ss%2Fword@host and p@ss/word"), "user:[redacted]@host and [redacted]");
    assert.equal(s.scrub("nothing secret here"), "nothing secret here");
  });

  it("parses every error line of a 400 invalid-config message", () => {
    const msg =
      "Connector configuration is invalid and contains the following 3 error(s):\nThe 'topic.prefix' value is invalid: A value is required\nThe 'database.port' value is invalid: An integer is expected\nThe 'database.port' value is invalid: An integer is expected\nYou can also find the above list of errors at the endpoint `/connector-plugins/{connectorType}/config/validate`";
    assert.deepEqual(parseInvalidConfigMessage(msg), [
      "The 'topic.prefix' value is invalid: A value is required",
      "The 'database.port' value is invalid: An integer is expected",
      "The 'database.port' value is invalid: An integer is expected",
    ]);
    assert.equal(parseInvalidConfigMessage("Connector x already exists"), undefined);
  });
});
