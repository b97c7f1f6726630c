import { randomBytes, randomUUID } from "node:crypto";

/** Randomness source, injected so token values can be made predictable in tests. */
export interface Random {
  bytes(length: number): Buffer;
  uuid(): string;
}

export const systemRandom: Random = {
  bytes: (length) => randomBytes(length),
  uuid: () => randomUUID(),
};
