/** Mocha root hooks: stop every shared PostgreSQL server and the shared real Kafka stack when the run ends, pass or fail. */
import { destroySharedStack } from "./connect-target";
import { destroySharedServers } from "./postgres";

export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    this.timeout(60000);
    await destroySharedStack();
    await destroySharedServers();
  },
};
