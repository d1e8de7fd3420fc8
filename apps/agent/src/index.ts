export { startAgent, type Agent } from "./agent.js";
export { agentConfigFromEnv, type AgentConfig } from "./config.js";
