// Where a command writes: stdout and stderr, injectable so commands can be tested in-process.

export interface Output {
  stdout(s: string | Buffer): void;
  stderr(s: string): void;
}

export const processOutput: Output = {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
};
