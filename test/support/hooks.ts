/** Mocha root hooks: stop every shared PostgreSQL server when the run ends, pass or fail. */
import { destroySharedServers } from "./postgres";

export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    this.timeout(60000);
    await destroySharedServers();
  },
};
