/**
 * Engine API wire types (Docker's swagger names and casing), added as routes
 * are implemented. Only what berth fills is declared; clients treat missing
 * fields as zero values.
 */

/** GET /version */
export interface SystemVersion {
  Platform: { Name: string };
  Components: { Name: string; Version: string; Details?: Record<string, string> }[];
  Version: string;
  ApiVersion: string;
  MinAPIVersion: string;
  GitCommit: string;
  GoVersion: string;
  Os: string;
  Arch: string;
  KernelVersion: string;
  BuildTime: string;
  Experimental?: boolean;
}

/** GET /info */
export interface SystemInfo {
  ID: string;
  Containers: number;
  ContainersRunning: number;
  ContainersPaused: number;
  ContainersStopped: number;
  Images: number;
  Driver: string;
  DriverStatus: [string, string][];
  Plugins: {
    Volume: string[];
    Network: string[];
    Authorization: string[] | null;
    Log: string[];
  };
  MemoryLimit: boolean;
  SwapLimit: boolean;
  CpuCfsPeriod: boolean;
  CpuCfsQuota: boolean;
  CPUShares: boolean;
  CPUSet: boolean;
  PidsLimit: boolean;
  IPv4Forwarding: boolean;
  Debug: boolean;
  NFd: number;
  NGoroutines: number;
  SystemTime: string;
  LoggingDriver: string;
  CgroupDriver: string;
  CgroupVersion: string;
  NEventsListener: number;
  KernelVersion: string;
  OperatingSystem: string;
  OSVersion: string;
  OSType: string;
  Architecture: string;
  IndexServerAddress: string;
  RegistryConfig: {
    IndexConfigs: Record<string, unknown>;
    InsecureRegistryCIDRs: string[];
    Mirrors: string[];
  };
  NCPU: number;
  MemTotal: number;
  DockerRootDir: string;
  Name: string;
  Labels: string[];
  ExperimentalBuild: boolean;
  ServerVersion: string;
  Runtimes: Record<string, { path: string }>;
  DefaultRuntime: string;
  Swarm: { LocalNodeState: string; ControlAvailable: boolean; NodeID: string; NodeAddr: string };
  LiveRestoreEnabled: boolean;
  Isolation: string;
  InitBinary: string;
  ContainerdCommit: { ID: string; Expected: string };
  RuncCommit: { ID: string; Expected: string };
  InitCommit: { ID: string; Expected: string };
  SecurityOptions: string[];
  Warnings: string[];
}
