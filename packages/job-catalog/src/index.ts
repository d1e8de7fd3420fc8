export * from "./catalog.js";
export * from "./fleet.js";
