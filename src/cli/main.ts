/** The `vmlab` command line. */

import { Command } from "commander";
import { registerBenchCommand } from "./commands/bench.js";
import { registerConformanceCommand } from "./commands/conformance.js";
import { registerImageCommand } from "./commands/image.js";
import { registerRunCommand } from "./commands/run.js";

export function buildProgram(): Command {
  const program = new Command();
  program
    .name("vmlab")
    .description("vmlab: an x86 virtual machine monitor laboratory")
    .version("0.1.0")
    .showHelpAfterError();
  registerRunCommand(program);
  registerConformanceCommand(program);
  registerImageCommand(program);
  registerBenchCommand(program);
  return program;
}

await buildProgram().parseAsync(process.argv);
