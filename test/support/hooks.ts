/** Mocha root hooks: close the library's idle sessions after each test; stop every shared PostgreSQL server and the shared real Kafka stack when the run ends, pass or fail. */
import { destroySharedStack } from "./connect-target";
import { destroySharedServers } from "./postgres";
import { closeIdleSessions } from "#dist/postgres/connection.js";

export const mochaHooks = {
  /** Sessions the library keeps for reuse do not outlive the test that opened them. */
  async afterEach() {
    await closeIdleSessions();
  },
  async afterAll(this: Mocha.Context) {
    this.timeout(60000);
    await destroySharedStack();
    await destroySharedServers();
  },
};
