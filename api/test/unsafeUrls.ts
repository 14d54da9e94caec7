// URLs a tenant may not make the API fetch (api/src/outbound/urlPolicy.ts), with what the refusal
// says: one table for every route that takes such a URL. Private networks are not allowed here, and
// neither is http.
export const UNSAFE_URLS: readonly { url: string; message: RegExp }[] = [
  { url: "http://hooks.example.com/in", message: /must be an https URL/ },
  { url: "https://user:secret@hooks.example.com/in", message: /must not carry credentials/ },
  { url: "https://hooks.example.com:pass@hooks.example.com/in", message: /must not carry credentials/ },
  { url: "https://127.0.0.1/in", message: /127\.0\.0\.1, a non-public address \(loopback\)/ },
  { url: "https://127.8.9.10:8080/in", message: /\(loopback\)/ },
  // Other spellings of 127.0.0.1 that the URL parser normalises.
  { url: "https://2130706433/in", message: /127\.0\.0\.1, a non-public address \(loopback\)/ },
  { url: "https://0x7f.1/in", message: /127\.0\.0\.1, a non-public address \(loopback\)/ },
  { url: "https://10.0.0.5/in", message: /\(private\)/ },
  { url: "https://172.20.1.1/in", message: /\(private\)/ },
  { url: "https://192.168.1.1/in", message: /\(private\)/ },
  { url: "https://169.254.169.254/latest/meta-data/", message: /\(link-local\)/ },
  { url: "https://100.64.0.1/in", message: /\(carrier-grade NAT\)/ },
  { url: "https://0.0.0.0/in", message: /\(unspecified\)/ },
  { url: "https://224.0.0.251/in", message: /\(multicast\)/ },
  { url: "https://[::1]/in", message: /::1, a non-public address \(loopback\)/ },
  { url: "https://[::]/in", message: /\(unspecified\)/ },
  { url: "https://[fe80::1]/in", message: /\(link-local\)/ },
  { url: "https://[fd12:3456::1]/in", message: /\(unique-local\)/ },
  { url: "https://[ff02::1]/in", message: /\(multicast\)/ },
  { url: "https://[::ffff:127.0.0.1]/in", message: /\(loopback\)/ },
  { url: "https://[::ffff:192.168.0.1]/in", message: /\(private\)/ },
  { url: "https://[64:ff9b::a00:1]/in", message: /\(IPv4-embedding\)/ },
  { url: "https://localhost/in", message: /not a \.localhost name/ },
  { url: "https://LOCALHOST./in", message: /not a \.localhost name/ },
  { url: "https://api.localhost:8443/in", message: /not a \.localhost name/ },
  { url: "https://printer.local/in", message: /not a \.local name/ },
  { url: "https://metadata.google.internal/computeMetadata/v1/", message: /not a \.internal name/ },
  { url: "https://intranet/in", message: /by its full name/ },
];

/** Public https URLs: accepted whatever the flags. */
export const SAFE_URLS = ["https://hooks.example.com/in", "https://8.8.8.8/in", "https://[2606:4700::1111]/in"];
