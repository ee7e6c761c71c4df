/**
 * Watches the directories of the catalog's files and asks for a reload when anything in them
 * changes. Directories, not files: an editor or `kubectl` replaces a file by renaming another over
 * it, and a Kubernetes ConfigMap volume swaps a `..data` symlink, so a watch on the file itself
 * would follow the old inode and miss every later change. Events come in bursts (one save is
 * several); they are gathered for `settleMs` into one reload, which is a no-op when the files'
 * content did not change.
 */
import { type FSWatcher, watch } from "node:fs";
import { dirname } from "node:path";
import type { Logger } from "../runtime/logger.js";

/** A running watch. */
export interface CatalogWatch {
  close(): void;
}

/** Calls `onChange` after changes in the directories of `files` settle for `settleMs`. */
export function watchCatalogFiles(
  files: readonly string[],
  onChange: () => void,
  logger: Logger,
  settleMs = 200,
): CatalogWatch {
  let timer: NodeJS.Timeout | undefined;
  const changed = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      onChange();
    }, settleMs);
  };
  const watchers: FSWatcher[] = [...new Set(files.map((file) => dirname(file)))].map((directory) =>
    watch(directory, { persistent: false }, changed).on("error", (err) =>
      logger.error({ err, directory }, "catalog directory watch failed; changes there are no longer reloaded"),
    ),
  );
  return {
    close() {
      if (timer !== undefined) clearTimeout(timer);
      for (const watcher of watchers) watcher.close();
    },
  };
}
