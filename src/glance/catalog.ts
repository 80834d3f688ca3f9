// The service catalog a Keystone token carries, and the one lookup we need:
// the URL of a service type (image, key-manager) for an interface, in a
// region when one is named.

export interface CatalogEndpoint {
  interface: string;
  region?: string;
  region_id?: string;
  url: string;
}

export interface CatalogEntry {
  type: string;
  name?: string;
  endpoints: CatalogEndpoint[];
}

/** The endpoint URL (no trailing slash), or null when the catalog has none that fits. */
export function endpointFor(catalog: CatalogEntry[], type: string, iface: string, region?: string): string | null {
  for (const entry of catalog) {
    if (entry.type !== type) continue;
    const ep = entry.endpoints.find((e) => e.interface === iface && (!region || e.region_id === region || e.region === region));
    if (ep) return ep.url.replace(/\/+$/, '');
  }
  return null;
}

/** What the catalog offers, for an error message: `image (public RegionOne, admin RegionOne)`. */
export function describeCatalog(catalog: CatalogEntry[]): string {
  return catalog.map((e) => `${e.type} (${e.endpoints.map((x) => `${x.interface} ${x.region_id ?? x.region ?? '-'}`).join(', ')})`).join('; ') || 'empty';
}
