export { requestControl, NotRunningError, type RequestControlOptions } from './client.js';
export { startControlServer, clearStaleSocket, type ControlHandler, type ControlServer, type ControlServerOptions } from './server.js';
export { controlSocketPath, MAX_SOCKET_PATH_BYTES } from './socket-path.js';
export * from './protocol.js';
