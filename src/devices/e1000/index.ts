/** The Intel 82540EM (e1000) NIC model: see e1000.ts. The driver-side mock is in testing/driver.ts. */
export { E1000, E1000ConfigError, type E1000Options, parseMac } from "./e1000.js";
