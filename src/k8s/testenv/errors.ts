/** A piece of the local toolchain is missing; the message says how to provide it. */
export class MissingComponentError extends Error {
  readonly component: string;
  constructor(component: string, message: string) {
    super(message);
    this.name = 'MissingComponentError';
    this.component = component;
  }
}

/** A control-plane process failed to start or become ready. */
export class ControlPlaneStartError extends Error {
  readonly component: string;
  readonly logTail: string;
  constructor(component: string, message: string, logTail: string) {
    super(`${message}\n--- ${component} log (tail) ---\n${logTail}`);
    this.name = 'ControlPlaneStartError';
    this.component = component;
    this.logTail = logTail;
  }
}
