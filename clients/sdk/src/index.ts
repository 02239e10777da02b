export * from "./client";
export * from "./errors";
export * from "./realtime";
export * from "./session";
export * from "./upload";
export type { components, operations, paths } from "./schema";
