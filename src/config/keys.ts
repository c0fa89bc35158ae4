// Top-level keys Consul 1.10 accepts in configuration files that Tribune does not act on yet.
// They load with a warning, so existing Consul configuration files keep working.

export const ACCEPTED_UNIMPLEMENTED = new Set([
  'acl_enforce_version_8', 'advertise_addr_ipv4', 'advertise_addr_ipv6', 'advertise_reconnect_timeout', 'ae_interval',
  'audit', 'auto_config', 'auto_encrypt', 'bind_addr_ipv4', 'bind_addr_ipv6', 'ca_file', 'ca_path', 'cert_file',
  'check_output_max_size', 'check_update_interval', 'cloud', 'config_entries', 'disable_anonymous_signature',
  'disable_host_node_id', 'disable_http_unprintable_char_filter', 'disable_keyring_file',
  'disable_remote_exec', 'disable_update_check', 'discard_check_output', 'discovery_max_stale',
  'enable_acl_replication', 'enable_agent_tls_for_checks', 'enable_central_service_config', 'enable_syslog',
  'encrypt_verify_incoming', 'encrypt_verify_outgoing', 'gossip_lan', 'gossip_wan', 'http_config', 'key_file',
  'leave_on_terminate', 'license_path', 'log_file', 'log_json', 'log_rotate_bytes', 'log_rotate_duration',
  'log_rotate_max_files', 'non_voting_server', 'raft_protocol', 'raft_snapshot_interval',
  'raft_trailing_logs', 'read_replica', 'reconnect_timeout', 'reconnect_timeout_wan',
  'rejoin_after_leave', 'retry_interval', 'retry_interval_wan', 'retry_join', 'retry_join_wan', 'retry_max',
  'retry_max_wan', 'rpc', 'segment', 'segments', 'serf_lan', 'serf_lan_allowed_cidrs', 'serf_wan',
  'serf_wan_allowed_cidrs', 'server_name', 'skip_leave_on_interrupt', 'start_join',
  'start_join_wan', 'statsd_addr', 'statsite_addr', 'statsite_prefix', 'syslog_facility', 'telemetry', 'tls',
  'tls_cipher_suites', 'tls_min_version', 'tls_prefer_server_cipher_suites', 'translate_wan_addrs',
  'use_streaming_backend', 'verify_incoming', 'verify_incoming_https', 'verify_incoming_rpc',
  'verify_outgoing', 'verify_server_hostname', 'watches', 'advertise_addr_wan_ipv4', 'advertise_addr_wan_ipv6',
  'primary_gateways', 'primary_gateways_interval', 'rpc_protocol', 'protocol', 'dns_recursor', 'default_query_time',
  'max_query_time', 'auto_reload_config', 'rpc_max_conns_per_client', 'rpc_rate', 'rpc_max_burst',
  'serf_lan_bind', 'serf_wan_bind', 'snapshot_agent',
]);
