//! One batch of tasks against the database: states, surveys of what exists, approvals,
//! logs, packages, task and progress rows, file provides — the phases `load_tasks` runs.

use super::*;

pub(super) struct Batch<'a> {
    pub(super) db: &'a Db,
    pub(super) opts: &'a TaskLoadOptions,
    pub(super) sink: Sink<'a>,
    pub(super) obs: Arc<dyn Observer>,
    pub(super) pool: Arc<rayon::ThreadPool>,
    /// One task ([`load_task`]): its failures fail the call; packages are parsed and
    /// written chunk by chunk.
    pub(super) single: bool,
    pub(super) store: PackageStore,
    /// `task <id>` or `tasks <first>..<last>`, for error messages.
    pub(super) context: String,
}

/// Distinct values.
pub(super) fn distinct<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort_unstable();
    v.dedup();
    v
}

impl Batch<'_> {
    /// The batch's phases; returns the items that were loaded (or found loaded), failures
    /// recorded in `outcomes`.
    pub(super) async fn run(
        &mut self,
        items: Vec<Item>,
        outcomes: &mut Outcomes,
    ) -> Result<Vec<Item>> {
        // 1. States already loaded: only their approvals are reconciled.
        let (mut done, todo, surveyed) = self.partition(items).await?;
        for it in &mut done {
            it.report.already_loaded = true;
        }

        // 2. Headers and logs of the tasks to load, all read before anything is written.
        let npkg: usize = todo.iter().map(|it| it.report.packages_seen).sum();
        self.obs.phase("headers", npkg as u64);
        let prepared: Vec<(Item, Result<()>)> = {
            let pool = self.pool.clone();
            let obs = self.obs.clone();
            let limits = self.opts.limits;
            blocking(move || {
                Ok(pool.install(|| {
                    todo.into_par_iter()
                        .map(|mut it| {
                            let r = prepare(&mut it, &limits, obs.as_ref());
                            (it, r)
                        })
                        .collect()
                }))
            })
            .await?
        };
        self.obs.finish_phase();
        let mut todo = Vec::new();
        for (it, r) in prepared {
            match r {
                Ok(()) => todo.push(it),
                Err(e) if self.single => return Err(e),
                Err(e) => outcomes[it.slot] = Some(Err(e)),
            }
        }

        // 3. What the database has, one query per table family for the whole batch.
        let survey = match surveyed {
            Some(s) => s,
            None => self.survey(&todo, None).await?,
        };
        let approvals_db = self.approvals(&done, &todo, &survey).await?;
        let known = self.lookups(&todo).await?;
        if !todo.is_empty() {
            self.log_rows(&mut todo, &known.lines).await?;
        }

        // 4. Packages (the repository loader's path), then the task rows.
        let mut todo = self.packages(todo, outcomes, &known).await?;
        self.task_rows(&todo, &survey, &known.chroots).await?;
        let mut approvals = Vec::new();
        for it in done.iter().chain(&todo) {
            let latest = latest_approvals(&approvals_db, it.report.task_id);
            approvals.extend(rows::reconcile_approvals(
                &rows::approval_rows(&it.task),
                &latest,
                now_secs(),
            ));
        }
        // (Approvals go between the plan and the progress tables, as a single load writes them.)
        self.sink.write(approvals).await?;
        self.progress_rows(&todo, &survey).await?;

        // 5. The state rows, last: they make the states visible, so everything they refer
        // to is committed and on disk first.
        if !todo.is_empty() {
            self.sink.before_root(flush::TASK_LOAD).await?;
            let states: Vec<TaskStatesRow> = if self.opts.force {
                let have = self.states(&todo).await?;
                todo.iter()
                    .map(|it| it.state_row.clone())
                    .filter(|r| !have.contains(r))
                    .collect()
            } else {
                todo.iter().map(|it| it.state_row.clone()).collect()
            };
            let t = Instant::now();
            self.sink.write(states).await?;
            // `-D` shows where a load's time goes: the state rows fire mv_package_history.
            tracing::debug!(
                "{}: TaskStates written in {:.3} s",
                self.context,
                t.elapsed().as_secs_f64()
            );

            // 6. Post-processing, once per batch.
            if self.opts.file_provides {
                let t = Instant::now();
                self.file_provides().await?;
                tracing::debug!(
                    "{}: file provides in {:.3} s",
                    self.context,
                    t.elapsed().as_secs_f64()
                );
            }
            if self.opts.flush && !self.opts.dry_run {
                self.sink.flush_buffers(flush::TASK_LOAD).await?;
            }
        }
        for it in &mut todo {
            it.log_out = Vec::new();
        }
        done.append(&mut todo);
        Ok(done)
    }

    /// The items whose state is loaded already and the others. One task asks with its
    /// survey (one round trip for both, the survey returned); a batch reads the state rows.
    pub(super) async fn partition(
        &self,
        items: Vec<Item>,
    ) -> Result<(Vec<Item>, Vec<Item>, Option<Survey>)> {
        if self.opts.force {
            return Ok((Vec::new(), items, None));
        }
        if let [one] = items.as_slice() {
            let s = self.survey(&items, Some(&one.state_row)).await?;
            return Ok(if s.same_state > 0 {
                (items, Vec::new(), None)
            } else {
                (Vec::new(), items, Some(s))
            });
        }
        let have = self.states(&items).await?;
        let (done, todo) = items
            .into_iter()
            .partition(|it| have.contains(&it.state_row));
        Ok((done, todo, None))
    }

    /// The stored `TaskStates` rows of the items' (id, change time) pairs.
    pub(super) async fn states(&self, items: &[Item]) -> Result<Vec<TaskStatesRow>> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let changed = distinct(items.iter().map(|i| i.state_row.task_changed).collect());
        let ids = distinct(items.iter().map(|i| i.state_row.task_id).collect());
        Ok(self
            .sink
            .check::<TaskStatesRow>()
            .any_of("task_changed", changed)
            .any_of("task_id", ids)
            .rows()
            .await?)
    }

    /// Row counts of the task-scoped tables for the items (`changed` for the tables whose
    /// rows carry it) and of the plan tables for their plan hashes; with `state`, also the
    /// `TaskStates` rows equal to it (every column compared).
    pub(super) async fn survey(
        &self,
        items: &[Item],
        state: Option<&TaskStatesRow>,
    ) -> Result<Survey> {
        if items.is_empty() {
            return Ok(Survey::default());
        }
        let ids = distinct(items.iter().map(|i| i.report.task_id).collect::<Vec<u32>>());
        let changed = distinct(items.iter().map(|i| i.report.changed).collect::<Vec<u32>>());
        let plan: Vec<u64> = plan_keys(items);
        let s = &self.sink;
        let parts = vec![
            s.check::<TasksRow>()
                .any_of("task_id", ids.clone())
                .any_of("task_changed", changed.clone())
                .counted(),
            s.check::<TaskIterationsRow>()
                .any_of("task_id", ids.clone())
                .any_of("task_changed", changed)
                .counted(),
            s.check::<TaskApprovalsRow>()
                .any_of("task_id", ids.clone())
                .counted(),
            s.check::<TaskProgressRow>()
                .any_of("task_id", ids.clone())
                .counted(),
            s.check::<TaskSubtaskProgressRow>()
                .any_of("task_id", ids)
                .counted(),
            s.check::<TaskPlanPackagesRow>()
                .any_of("tplan_hash", plan.clone())
                .counted(),
            s.check::<TaskPlanPkgHashRow>()
                .any_of("tplan_hash", plan)
                .counted(),
        ];
        let mut parts = parts;
        if let Some(r) = state {
            parts.push(
                s.check::<TaskStatesRow>()
                    .eq("task_changed", r.task_changed)
                    .eq("task_id", r.task_id)
                    .eq("task_state", r.task_state.clone())
                    .eq("task_runby", r.task_runby.clone())
                    .eq("task_depends", r.task_depends.clone())
                    .eq("task_try", r.task_try)
                    .eq("task_testonly", r.task_testonly)
                    .eq("task_failearly", r.task_failearly)
                    .eq("task_shared", r.task_shared)
                    .eq("task_message", r.task_message.clone())
                    .eq("task_version", r.task_version.clone())
                    .eq("task_prev", r.task_prev)
                    .eq("task_eventlog_hash", r.task_eventlog_hash.clone())
                    .counted(),
            );
        }
        let c = s.count_each(parts, "counting the task's rows").await?;
        let n = |i: usize| c.get(i).copied().unwrap_or(0);
        Ok(Survey {
            tasks: n(0),
            iterations: n(1),
            approvals: n(2),
            progress: n(3),
            subtask_progress: n(4),
            plan: n(5),
            plan_hash: n(6),
            same_state: n(7),
        })
    }

    /// The stored approvals of the loaded tasks (always) and of the tasks to load (when the
    /// survey found any), in (ts, date) order.
    pub(super) async fn approvals(
        &self,
        done: &[Item],
        todo: &[Item],
        survey: &Survey,
    ) -> Result<Vec<TaskApprovalsRow>> {
        let mut ids: Vec<u32> = done.iter().map(|i| i.report.task_id).collect();
        if survey.approvals > 0 {
            ids.extend(todo.iter().map(|i| i.report.task_id));
        }
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self
            .sink
            .check::<TaskApprovalsRow>()
            .what("reading TaskApprovals")
            .any_of("task_id", distinct(ids))
            .order_by(&["ts", "tapp_date", "tapp_revoked"])
            .rows()
            .await?)
    }

    /// What the database has of the items' log lines (each log's first and last), packages
    /// (`Packages` by name and hash, `PackageHash` pairs) and chroots: one round trip for the
    /// batch while the key sets are small (the usual task), else one query (or chunks) per
    /// table.
    pub(super) async fn lookups(&self, items: &[Item]) -> Result<Known> {
        let probe: Vec<(String, u32, u64)> = items
            .iter()
            .flat_map(|it| it.logs.iter())
            .flat_map(|rows| rows.first().into_iter().chain(rows.last()))
            .map(|r| (r.tlog_message.clone(), r.tlog_line, r.tlog_hash))
            .collect();
        let hashes = package_hashes(items);
        let names = distinct(
            items
                .iter()
                .flat_map(|it| it.headers.iter().map(|h| h.name.clone()))
                .collect::<Vec<String>>(),
        );
        let chroots = chroot_keys(items);
        if probe.is_empty() && hashes.is_empty() && chroots.is_empty() {
            return Ok(Known::default());
        }
        let probe_bytes: usize = probe.iter().map(|k| k.0.len()).sum();
        let small = probe.len() <= LOG_LOOKUP_CHUNK
            && probe_bytes <= GATHER_LOG_BYTES
            && hashes.len() <= GATHER_KEYS
            && chroots.len() <= GATHER_KEYS;
        if small {
            #[derive(Debug, serde::Deserialize, clickhouse::Row)]
            struct Found {
                lines: Vec<(String, u32, u64, u32)>,
                packages: Vec<u64>,
                hashes: Vec<(u64, String)>,
                chroots: Vec<u64>,
            }
            let s = &self.sink;
            let parts = vec![
                s.check::<TaskLogsRow>().gather_lookup(
                    "lines",
                    &["tlog_message", "tlog_line", "tlog_hash"],
                    probe,
                    &["tlog_message", "tlog_line", "tlog_hash", "tlog_ts"],
                ),
                // Packages rows by (name, hash): the name keeps the lookup on the sorting key.
                s.check::<PackagesRow>()
                    .any_of("pkg_name", names)
                    .gather_present("packages", "pkg_hash", hashes.clone()),
                s.check::<PackageHashRow>().gather_lookup(
                    "hashes",
                    "pkgh_mmh",
                    hashes,
                    &["pkgh_mmh", "pkgh_md5"],
                ),
                // By `tch_chroot`, the sorting key (its hash column is not in the key).
                s.check::<TaskChrootsRow>()
                    .any_of("tch_chroot", chroots)
                    .gather_values("chroots", "tch_hash"),
            ];
            let f: Found = s
                .gather(parts, "checking logs, packages and chroots")
                .await?;
            return Ok(Known {
                lines: f.lines.into_iter().collect(),
                packages: f.packages.into_iter().collect(),
                hashes: f.hashes,
                chroots: f.chroots.into_iter().collect(),
            });
        }
        let probe_rows: Vec<TaskLogsRow> = probe
            .into_iter()
            .map(|(m, l, h)| TaskLogsRow {
                tlog_hash: h,
                tlog_line: l,
                tlog_ts: 0,
                tlog_message: m,
            })
            .collect();
        let lines = self
            .present_lines(&probe_rows.iter().collect::<Vec<_>>())
            .await?;
        let (packages, hashes) = if hashes.is_empty() {
            (HashSet::new(), Vec::new())
        } else {
            (
                self.sink
                    .check::<PackagesRow>()
                    .any_of("pkg_name", names)
                    .present("pkg_hash", &hashes)
                    .await?,
                self.sink
                    .check::<PackageHashRow>()
                    .pairs("pkgh_mmh", "pkgh_md5", &hashes)
                    .await?,
            )
        };
        let chroots = if chroots.is_empty() {
            HashSet::new()
        } else {
            self.sink
                .check::<TaskChrootsRow>()
                .any_of("tch_chroot", chroots)
                .values::<u64>("tch_hash")
                .await?
                .into_iter()
                .collect()
        };
        Ok(Known {
            lines,
            packages,
            hashes,
            chroots,
        })
    }

    /// The rows among `keys` that `TaskLogs` has with the same time stamp, as
    /// `(message, line, hash, ts)`. Looked up through the sorting key
    /// `(tlog_message, tlog_line, tlog_hash)`, so no table scan is needed; a line stored with
    /// another time stamp (the log was rewritten) is not in the answer.
    pub(super) async fn present_lines(&self, keys: &[&TaskLogsRow]) -> Result<HashSet<LogLine>> {
        let k: Vec<(String, u32, u64)> = keys
            .iter()
            .map(|r| (r.tlog_message.clone(), r.tlog_line, r.tlog_hash))
            .collect();
        let got: Vec<LogLine> = self
            .sink
            .check::<TaskLogsRow>()
            .what("checking TaskLogs")
            .chunk(LOG_LOOKUP_CHUNK)
            .lookup(
                &["tlog_message", "tlog_line", "tlog_hash"],
                &k,
                &["tlog_message", "tlog_line", "tlog_hash", "tlog_ts"],
            )
            .await?;
        Ok(got.into_iter().collect())
    }

    /// The log rows to write, per item. A probe of each log's first and last line, time
    /// stamps included ([`Batch::lookups`], `probed`), decides: last line present → loaded
    /// (logs are written in line order); first line present → partly loaded or grown
    /// (checked line by line); neither → new or rewritten, written whole. A rewritten log
    /// (a build log's stamps are offsets from the file's mtime, which moves whenever girar
    /// appends to it) is written again like the original does, so the ReplacingMergeTree
    /// keeps the latest stamp of every line.
    pub(super) async fn log_rows(
        &self,
        items: &mut [Item],
        probed: &HashSet<LogLine>,
    ) -> Result<()> {
        let force = self.opts.force;
        // Which logs are written whole, which line by line (first line stored, last not:
        // partly loaded or grown), which not at all.
        #[derive(PartialEq)]
        enum Way {
            Skip,
            Whole,
            Lines,
        }
        let ways: Vec<Vec<Way>> = items
            .iter()
            .map(|it| {
                it.logs
                    .iter()
                    .map(|rows| match (rows.first(), rows.last()) {
                        (Some(_), Some(_)) if force => Way::Lines,
                        (Some(first), Some(last)) => {
                            if probed.contains(&log_line(last)) {
                                Way::Skip
                            } else if probed.contains(&log_line(first)) {
                                Way::Lines
                            } else {
                                Way::Whole
                            }
                        }
                        _ => Way::Skip,
                    })
                    .collect()
            })
            .collect();
        // The lines of every such log asked together (chunked), not one query per log.
        let to_check: Vec<&TaskLogsRow> = items
            .iter()
            .zip(&ways)
            .flat_map(|(it, w)| it.logs.iter().zip(w))
            .filter(|(_, w)| **w == Way::Lines)
            .flat_map(|(rows, _)| rows.iter())
            .collect();
        let have = if to_check.is_empty() {
            HashSet::new()
        } else {
            self.present_lines(&to_check).await?
        };
        for (it, w) in items.iter_mut().zip(ways) {
            let mut out = Vec::new();
            for (rows, way) in it.logs.iter().zip(w) {
                match way {
                    Way::Skip => {}
                    Way::Whole => out.extend(rows.iter().cloned()),
                    Way::Lines => out.extend(
                        rows.iter()
                            .filter(|r| !have.contains(&log_line(r)))
                            .cloned(),
                    ),
                }
            }
            it.log_out = out;
            it.logs = Vec::new();
        }
        Ok(())
    }

    /// Packages: identities known completely are skipped, the rest parsed and written
    /// through the repository loader's path ([`PackageStore`]). Returns the items still
    /// loading (a task whose package cannot be read fails here, before its rows are written).
    pub(super) async fn packages(
        &mut self,
        items: Vec<Item>,
        outcomes: &mut Outcomes,
        known: &Known,
    ) -> Result<Vec<Item>> {
        let mut items = items;
        let hashes = package_hashes(&items);
        if hashes.is_empty() {
            return Ok(items);
        }
        let have_pkg = known.packages.clone();
        let pairs = &known.hashes;
        let mut have_hash: HashSet<(u64, [u8; 16])> = HashSet::new();
        for (h, md5_hex) in pairs {
            let mut md5 = [0u8; 16];
            if hex::decode_to_slice(md5_hex, &mut md5).is_ok() {
                have_hash.insert((*h, md5));
            }
        }
        let complete: HashSet<u64> = pairs.iter().map(|(h, _)| *h).collect();
        // The package path need not ask again what was just asked.
        self.store = std::mem::take(&mut self.store).knowing(&hashes, have_pkg.clone(), have_hash);
        let mut todo: Vec<PkgTodo> = Vec::new();
        for (i, it) in items.iter_mut().enumerate() {
            // A binary's source package is its iteration's.
            let mut src_of: HashMap<&str, u64> = HashMap::new();
            for iter in &it.task.iterations {
                let s = iter
                    .srpm
                    .as_ref()
                    .and_then(|p| it.hash_by_path.get(p))
                    .copied()
                    .unwrap_or(0);
                for r in &iter.rpms {
                    src_of.entry(r.as_str()).or_insert(s);
                }
            }
            let mut seen: HashSet<u64> = HashSet::new();
            let mut new = 0;
            for h in &it.headers {
                let known = have_pkg.contains(&h.pkg_hash) && complete.contains(&h.pkg_hash);
                if (known && !self.opts.force) || !seen.insert(h.pkg_hash) {
                    continue;
                }
                let src = match h.role {
                    PackageRole::Binary => src_of.get(h.rel.as_str()).copied().unwrap_or(0),
                    PackageRole::Source | PackageRole::Arepo => 0,
                };
                new += 1;
                todo.push(PkgTodo {
                    item: i,
                    header: h.clone(),
                    src,
                });
            }
            it.report.packages_new = new;
        }
        self.obs.phase("packages", todo.len() as u64);
        if self.single {
            // One task: parsed and written chunk by chunk (a large task need not fit in memory).
            for chunk in todo.chunks(CHUNK_PACKAGES) {
                let parsed = self.parse(chunk, &items).await;
                let parsed = parsed.into_iter().collect::<Result<Vec<_>>>()?;
                let n = parsed.len() as u64;
                self.store.write(&mut self.sink, parsed).await?;
                self.obs.advance(n);
            }
        } else {
            // Many tasks: every package parsed first, so a bad one fails only its task.
            let parsed = self.parse(&todo, &items).await;
            let mut bad: HashMap<usize, TaskError> = HashMap::new();
            let mut good = Vec::with_capacity(parsed.len());
            for (t, p) in todo.iter().zip(parsed) {
                match p {
                    Ok(p) => good.push((t.item, p)),
                    Err(e) => {
                        bad.entry(t.item).or_insert(e);
                    }
                }
            }
            let good: Vec<(FileDigests, PackageRows)> = good
                .into_iter()
                .filter(|(i, _)| !bad.contains_key(i))
                .map(|(_, p)| p)
                .collect();
            let mut rest = Vec::new();
            for (i, it) in items.drain(..).enumerate() {
                match bad.remove(&i) {
                    Some(e) => outcomes[it.slot] = Some(Err(e)),
                    None => rest.push(it),
                }
            }
            items = rest;
            let mut good = good.into_iter().peekable();
            while good.peek().is_some() {
                let chunk: Vec<_> = good.by_ref().take(CHUNK_PACKAGES).collect();
                let n = chunk.len() as u64;
                self.store.write(&mut self.sink, chunk).await?;
                self.obs.advance(n);
            }
        }
        self.obs.finish_phase();
        Ok(items)
    }

    /// Reads the packages of `todo` fully, in parallel (one outcome each, in order).
    pub(super) async fn parse(
        &self,
        todo: &[PkgTodo],
        items: &[Item],
    ) -> Vec<Result<(FileDigests, PackageRows)>> {
        let jobs: Vec<(PathBuf, Header, u64, Option<StatedDigests>)> = todo
            .iter()
            .map(|t| {
                let task = &items[t.item].task;
                (
                    task.path.clone(),
                    t.header.clone(),
                    t.src,
                    task.digests.get(file_name(&t.header.rel)).cloned(),
                )
            })
            .collect();
        let pool = self.pool.clone();
        let limits = self.opts.limits;
        let n = jobs.len();
        blocking(move || {
            Ok(pool.install(|| {
                jobs.par_iter()
                    .map(|(root, h, src, stated)| {
                        parse_package(root, h, *src, stated.as_ref(), &limits)
                    })
                    .collect()
            }))
        })
        .await
        .unwrap_or_else(|e| {
            let msg = e.to_string();
            (0..n)
                .map(|_| Err(TaskError::Internal(msg.clone())))
                .collect()
        })
    }

    /// `Tasks`, `TaskLogs`, `TaskChroots`, `TaskIterations` and the plan tables of the
    /// batch: each checked once and written in one request.
    pub(super) async fn task_rows(
        &mut self,
        items: &[Item],
        survey: &Survey,
        have_chroots: &HashSet<u64>,
    ) -> Result<()> {
        if items.is_empty() {
            return Ok(());
        }
        let ids = distinct(items.iter().map(|i| i.report.task_id).collect::<Vec<u32>>());
        let changed = distinct(items.iter().map(|i| i.report.changed).collect::<Vec<u32>>());

        let have = if survey.tasks == 0 {
            Vec::new()
        } else {
            self.sink
                .check::<TasksRow>()
                .any_of("task_id", ids.clone())
                .any_of("task_changed", changed.clone())
                .rows()
                .await?
        };
        let want: Vec<TasksRow> = items
            .iter()
            .flat_map(|it| rows::subtask_rows(&it.task))
            .collect();
        self.sink.write(absent(want, &have)).await?;

        let logs: Vec<TaskLogsRow> = items.iter().flat_map(|it| it.log_out.clone()).collect();
        self.sink.write(logs).await?;

        let mut iterations = Vec::new();
        let mut chroots: Vec<TaskChrootsRow> = Vec::new();
        for it in items {
            let (i, c) = rows::iteration_rows(&it.task, &it.hash_by_path);
            iterations.extend(i);
            chroots.extend(c);
        }
        let have = have_chroots;
        let mut seen: HashSet<u64> = HashSet::new();
        let chroots: Vec<_> = chroots
            .into_iter()
            .filter(|c| {
                let h = array_hash(&c.tch_chroot);
                !have.contains(&h) && seen.insert(h)
            })
            .collect();
        self.sink.write(chroots).await?;
        let have = if survey.iterations == 0 {
            Vec::new()
        } else {
            self.sink
                .check::<TaskIterationsRow>()
                .any_of("task_id", ids)
                .any_of("task_changed", changed)
                .rows()
                .await?
        };
        self.sink.write(absent(iterations, &have)).await?;

        let plan = plan_keys(items);
        if !plan.is_empty() {
            let mut plan_pkgs = Vec::new();
            let mut plan_hashes = Vec::new();
            for it in items {
                let (p, h) = rows::plan_rows(&it.task);
                plan_pkgs.extend(p);
                plan_hashes.extend(h);
            }
            let have = if survey.plan == 0 {
                Vec::new()
            } else {
                self.sink
                    .check::<TaskPlanPackagesRow>()
                    .any_of("tplan_hash", plan.clone())
                    .rows()
                    .await?
            };
            self.sink.write(absent_set(plan_pkgs, have)).await?;
            let have = if survey.plan_hash == 0 {
                Vec::new()
            } else {
                self.sink
                    .check::<TaskPlanPkgHashRow>()
                    .any_of("tplan_hash", plan)
                    .rows()
                    .await?
            };
            self.sink.write(absent_set(plan_hashes, have)).await?;
        }
        Ok(())
    }

    /// `TaskSubtaskProgress` and `TaskProgress` of the batch.
    pub(super) async fn progress_rows(&mut self, items: &[Item], survey: &Survey) -> Result<()> {
        if items.is_empty() {
            return Ok(());
        }
        let ids = distinct(items.iter().map(|i| i.report.task_id).collect::<Vec<u32>>());
        let want: Vec<TaskSubtaskProgressRow> = items
            .iter()
            .flat_map(|it| rows::subtask_progress_rows(&it.task))
            .collect();
        let have = if survey.subtask_progress == 0 {
            Vec::new()
        } else {
            self.sink
                .check::<TaskSubtaskProgressRow>()
                .any_of("task_id", ids.clone())
                .rows()
                .await?
        };
        self.sink.write(absent(want, &have)).await?;
        let have = if survey.progress == 0 {
            Vec::new()
        } else {
            self.sink
                .check::<TaskProgressRow>()
                .any_of("task_id", ids)
                .eq("type", "state")
                .rows()
                .await?
        };
        let want: Vec<TaskProgressRow> = items
            .iter()
            .map(|it| rows::progress_row(&it.task))
            .collect();
        self.sink.write(absent(want, &have)).await?;
        Ok(())
    }

    /// The original's global file-provides statement (§5.6, [`derived::insert_file_provides`]),
    /// counted as `FileProvides`; a dry run counts only what the database already holds.
    pub(super) async fn file_provides(&mut self) -> Result<()> {
        let ctx = self.context.clone();
        // A real load learns the count from the insert itself (one round trip).
        let n = if self.opts.dry_run {
            derived::count_file_provides(self.db, &ctx).await?
        } else {
            derived::insert_file_provides(self.db, &ctx).await?
        };
        self.sink.count("FileProvides", n);
        Ok(())
    }
}

/// What [`Batch::lookups`] found stored.
#[derive(Debug, Default)]
pub(super) struct Known {
    /// Probed log lines present with their time stamps.
    pub(super) lines: HashSet<LogLine>,
    /// Hashes with a `Packages` row.
    pub(super) packages: HashSet<u64>,
    /// `(pkgh_mmh, hex MD5)` pairs of `PackageHash`.
    pub(super) hashes: Vec<(u64, String)>,
    /// `tch_hash` of the chroots stored.
    pub(super) chroots: HashSet<u64>,
}

/// Keys per set of the one-query lookup; larger sets go through the chunked checks.
const GATHER_KEYS: usize = 2_000;
/// Bytes of log-line text in the one-query lookup (its parameters travel in the URL).
const GATHER_LOG_BYTES: usize = 64 * 1024;

/// The distinct package hashes of the items' headers.
pub(super) fn package_hashes(items: &[Item]) -> Vec<u64> {
    distinct(
        items
            .iter()
            .flat_map(|it| it.headers.iter().map(|h| h.pkg_hash))
            .collect(),
    )
}

/// The distinct chroot keys (`tch_chroot`) of the items' iterations.
pub(super) fn chroot_keys(items: &[Item]) -> Vec<Vec<u64>> {
    distinct(
        items
            .iter()
            .flat_map(|it| rows::iteration_rows(&it.task, &it.hash_by_path).1)
            .map(|c| c.tch_chroot)
            .collect(),
    )
}

/// The latest stored approval per (subtask, name, type) of `task_id`: the last in
/// (ts, date) order.
pub(super) fn latest_approvals(all: &[TaskApprovalsRow], task_id: u32) -> Vec<TaskApprovalsRow> {
    let mut latest: Vec<TaskApprovalsRow> = Vec::new();
    for r in all.iter().filter(|r| r.task_id == task_id) {
        match latest.iter_mut().find(|l| {
            l.subtask_id == r.subtask_id && l.tapp_name == r.tapp_name && l.tapp_type == r.tapp_type
        }) {
            Some(l) => *l = r.clone(),
            None => latest.push(r.clone()),
        }
    }
    latest
}

/// The plan hashes of the items' tasks.
pub(super) fn plan_keys(items: &[Item]) -> Vec<u64> {
    distinct(
        items
            .iter()
            .flat_map(|it| it.task.plan.hashes.values().copied())
            .collect(),
    )
}

/// A stored log line: `(message, line, hash, ts)`.
type LogLine = (String, u32, u64, u32);

pub(super) fn log_line(r: &TaskLogsRow) -> LogLine {
    (r.tlog_message.clone(), r.tlog_line, r.tlog_hash, r.tlog_ts)
}

/// The rows of `want` that are not in `have` (order kept, duplicates in `want` dropped).
pub(super) fn absent<T: PartialEq + Clone>(want: Vec<T>, have: &[T]) -> Vec<T> {
    let mut out: Vec<T> = Vec::with_capacity(want.len());
    for r in want {
        if !have.contains(&r) && !out.contains(&r) {
            out.push(r);
        }
    }
    out
}

/// [`absent`] through a hash set, for the larger plan tables.
pub(super) fn absent_set<T: Eq + std::hash::Hash + Clone>(want: Vec<T>, have: Vec<T>) -> Vec<T> {
    let mut seen: HashSet<T> = have.into_iter().collect();
    want.into_iter()
        .filter(|r| seen.insert(r.clone()))
        .collect()
}

pub(super) fn file_name(rel: &str) -> &str {
    rel.rsplit('/').next().unwrap_or(rel)
}

/// Reads one package fully and finds the digests of its `PackageHash` row: noarch binaries always get
/// their digests from the file (the original's workaround for noarch duplicates), others
/// use what `pkglist.task.xz` and the plan state and compute the rest.
pub(super) fn parse_package(
    root: &Path,
    h: &Header,
    src: u64,
    stated: Option<&StatedDigests>,
    limits: &ReadLimits,
) -> Result<(FileDigests, PackageRows)> {
    let path = resolve_in(root, &h.rel)?;
    let mut rows = read_package_file(&path, limits)?;
    if rows.package.pkg_sourcepackage == 0 {
        rows.set_srcrpm_hash(src);
    }
    let noarch = rows.package.pkg_sourcepackage == 0 && file_name(&h.rel).contains(".noarch.rpm");
    let (mut md5, mut sha256, mut blake2b) = match (noarch, stated) {
        (false, Some(d)) => (d.md5, d.sha256, d.blake2b),
        _ => (None, None, None),
    };
    if md5.is_none() || sha256.is_none() || blake2b.is_none() {
        let got = altrepodb_rpm::digest_file(
            &path,
            &[DigestAlgo::Md5, DigestAlgo::Sha256, DigestAlgo::Blake2b512],
        )
        .map_err(TaskError::io(&path))?;
        md5 = md5.or(got.md5);
        sha256 = sha256.or(got.sha256);
        blake2b = blake2b.or(got.blake2b);
    }
    // Missing digests are stored as zeros, as before (PackageStore fills the defaults).
    let digests = FileDigests {
        md5: Some(md5.unwrap_or_default()),
        sha256: Some(sha256.unwrap_or_default()),
        blake2b: Some(blake2b.unwrap_or([0; 64])),
    };
    Ok((digests, rows))
}
