/**
 * Every command the client knows, by the path that reaches it, with the
 * module that implements it (loaded only when that command runs) and the
 * one-line description the root and management help pages list.
 */

export interface Entry {
  /** Module under cli/commands/, without ".ts". */
  module: string;
  short: string;
}

export type Section = "common" | "management" | "other";

/** Top-level commands, in the sections of `docker --help`. */
export const COMMANDS: Record<string, Entry & { section: Section }> = {
  run: { module: "run", short: "Create and run a new container from an image", section: "common" },
  exec: { module: "exec", short: "Execute a command in a running container", section: "common" },
  ps: { module: "ps", short: "List containers", section: "common" },
  pull: { module: "pull", short: "Download an image from a registry", section: "common" },
  images: { module: "images", short: "List images", section: "common" },
  login: { module: "login", short: "Authenticate to a registry", section: "common" },
  logout: { module: "logout", short: "Log out from a registry", section: "common" },
  version: { module: "version", short: "Show the Docker version information", section: "common" },
  info: { module: "info", short: "Display system-wide information", section: "common" },

  container: { module: "", short: "Manage containers", section: "management" },
  image: { module: "", short: "Manage images", section: "management" },
  system: { module: "", short: "Manage Docker", section: "management" },

  attach: {
    module: "attach",
    short: "Attach local standard input, output, and error streams to a running container",
    section: "other",
  },
  cp: {
    module: "cp",
    short: "Copy files/folders between a container and the local filesystem",
    section: "other",
  },
  create: { module: "create", short: "Create a new container", section: "other" },
  events: { module: "events", short: "Get real time events from the server", section: "other" },
  inspect: {
    module: "inspect",
    short: "Return low-level information on Docker objects",
    section: "other",
  },
  kill: { module: "kill", short: "Kill one or more running containers", section: "other" },
  load: { module: "load", short: "Load an image from a tar archive or STDIN", section: "other" },
  logs: { module: "logs", short: "Fetch the logs of a container", section: "other" },
  pause: {
    module: "pause",
    short: "Pause all processes within one or more containers",
    section: "other",
  },
  rename: { module: "rename", short: "Rename a container", section: "other" },
  restart: { module: "restart", short: "Restart one or more containers", section: "other" },
  rm: { module: "rm", short: "Remove one or more containers", section: "other" },
  rmi: { module: "rmi", short: "Remove one or more images", section: "other" },
  save: {
    module: "save",
    short: "Save one or more images to a tar archive (streamed to STDOUT by default)",
    section: "other",
  },
  start: { module: "start", short: "Start one or more stopped containers", section: "other" },
  stats: {
    module: "stats",
    short: "Display a live stream of container(s) resource usage statistics",
    section: "other",
  },
  stop: { module: "stop", short: "Stop one or more running containers", section: "other" },
  tag: {
    module: "tag",
    short: "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
    section: "other",
  },
  top: { module: "top", short: "Display the running processes of a container", section: "other" },
  unpause: {
    module: "unpause",
    short: "Unpause all processes within one or more containers",
    section: "other",
  },
  wait: {
    module: "wait",
    short: "Block until one or more containers stop, then print their exit codes",
    section: "other",
  },
};

/** Management commands and their subcommands. */
export const GROUPS: Record<string, Record<string, Entry>> = {
  container: {
    attach: COMMANDS.attach,
    cp: COMMANDS.cp,
    create: COMMANDS.create,
    exec: COMMANDS.exec,
    inspect: {
      module: "container_inspect",
      short: "Display detailed information on one or more containers",
    },
    kill: COMMANDS.kill,
    logs: COMMANDS.logs,
    ls: { module: "ps", short: "List containers" },
    list: { module: "ps", short: "List containers" },
    ps: { module: "ps", short: "List containers" },
    pause: COMMANDS.pause,
    prune: { module: "container_prune", short: "Remove all stopped containers" },
    rename: COMMANDS.rename,
    restart: COMMANDS.restart,
    rm: COMMANDS.rm,
    remove: COMMANDS.rm,
    run: COMMANDS.run,
    start: COMMANDS.start,
    stats: COMMANDS.stats,
    stop: COMMANDS.stop,
    top: COMMANDS.top,
    unpause: COMMANDS.unpause,
    wait: COMMANDS.wait,
  },
  image: {
    inspect: {
      module: "image_inspect",
      short: "Display detailed information on one or more images",
    },
    load: COMMANDS.load,
    ls: { module: "images", short: "List images" },
    list: { module: "images", short: "List images" },
    prune: { module: "image_prune", short: "Remove unused images" },
    pull: COMMANDS.pull,
    rm: COMMANDS.rmi,
    remove: COMMANDS.rmi,
    save: COMMANDS.save,
    tag: COMMANDS.tag,
  },
  system: {
    df: { module: "system_df", short: "Show docker disk usage" },
    events: COMMANDS.events,
    info: COMMANDS.info,
    prune: { module: "system_prune", short: "Remove unused data" },
  },
};

/** Subcommand names that are aliases and not listed in a group's help. */
export const HIDDEN_ALIASES = new Set(["list", "ps", "remove"]);
