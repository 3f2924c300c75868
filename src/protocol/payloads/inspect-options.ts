/** guestkit.inspect.v1 `options` and their documented defaults (a missing `options` means all of these). Kept free of zod so the inspection library can use it without loading the schemas. */
export const INSPECT_OPTION_DEFAULTS = {
  deep_scan: false,
  include_packages: true,
  include_services: true,
  include_users: true,
  include_network: true,
  include_security: true,
  include_storage: true,
  include_databases: false,
} as const;

export type InspectOptionFlags = { [K in keyof typeof INSPECT_OPTION_DEFAULTS]: boolean };
