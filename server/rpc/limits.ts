/** Messages up to this size pass either way on every channel (exec output can be 16 MiB per stream). */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
