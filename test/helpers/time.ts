/** Real-time waits, for the few tests that must let real time pass (a debounce, an OS event). */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
