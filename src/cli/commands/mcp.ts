/**
 * `oscope mcp`: a Model Context Protocol server over stdio, for an AI assistant on this host (Claude
 * Desktop, an IDE, any MCP client that starts a command). Tools: every diagnosis of the agent registry,
 * named as the command, with its JSON Schema and the agent's caps (src/agent/mcp.ts). stdout carries the
 * protocol only; logs go to stderr. With `--from BUNDLE` the tools read a captured bundle instead.
 */
import type { RegisterCommand } from './index.js';

export const registerMcp: RegisterCommand = (program, ctx) => {
  program
    .command('mcp')
    .description('serve the diagnoses to an AI assistant over the Model Context Protocol (stdio): one tool per command (mem, inspect, …)')
    .action(async () => {
      const c = ctx();
      // Loaded when the command runs: the MCP SDK and every diagnosis would slow every other command's start.
      const [{ StdioServerTransport }, { defaultRegistry }, { hostMcpServer }] = await Promise.all([import('@modelcontextprotocol/sdk/server/stdio.js'), import('../../agent/diagnoses/index.js'), import('../../agent/mcp.js')]);
      const host = await c.host();
      const server = hostMcpServer(defaultRegistry(), host);
      const transport = new StdioServerTransport();
      await server.connect(transport);
      await new Promise<void>((resolve) => {
        server.onclose = () => resolve();
        process.stdin.once('end', () => resolve());
      });
      await server.close().catch(() => undefined);
    });
};
