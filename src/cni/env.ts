/** The environment of one plugin invocation (process.env, or a delegate's copy of it). */
export type Env = Readonly<Record<string, string | undefined>>;
