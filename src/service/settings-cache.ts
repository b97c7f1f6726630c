import type { Settings } from "../core/settings.js";
import type { Store } from "../store/store.js";

/**
 * The token policy, held in memory so requests never read it from the database. Reloaded when any
 * process changes it (the store's "all" invalidation) and every `refreshMs` as a safety net.
 */
export class SettingsCache {
  private constructor(
    private readonly store: Store,
    private value: Settings,
  ) {}

  static async load(store: Store, refreshMs = 30_000): Promise<SettingsCache> {
    const cache = new SettingsCache(store, await store.getSettings());
    store.onInvalidate((change) => {
      if (change.type === "all") void cache.reload();
    });
    setInterval(() => void cache.reload(), refreshMs).unref();
    return cache;
  }

  get current(): Settings {
    return this.value;
  }

  async reload(): Promise<void> {
    try {
      this.value = await this.store.getSettings();
    } catch {
      // Keep the last known policy while the database is unreachable; requests report the outage themselves.
    }
  }

  /** Takes the policy a successful update returned, so this process applies it at once. */
  replace(settings: Settings): void {
    this.value = settings;
  }
}
