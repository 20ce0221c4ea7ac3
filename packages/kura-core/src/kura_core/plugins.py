"""The plugin host: loads plugins from the ``kura`` entry-point group and calls their hooks.

Loading order: the built-in plugins of :data:`DEFAULT_PLUGINS`, then entry points (filtered by
``KURA_LOAD_PLUGINS`` and ``KURA_DISABLED_PLUGINS``), then ``check_pending()``. A plugin that
fails to import, whose hooks match no spec, or whose hook raises is reported in
:attr:`PluginHost.problems` and skipped; it never takes the host down and never leaves half its
registrations behind.

Hooks are called through pluggy, one plugin at a time and in pluggy's order (the built-in
plugin's ``tryfirst`` hooks, then last registered first); ``docs/plugin-hooks.md`` documents it.
"""

from __future__ import annotations

import importlib
import importlib.metadata as metadata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import pluggy

from kura_core import hookspecs
from kura_core.errors import InputError, PluginError
from kura_core.providers import IngressProvider, LoadBalancerProvider, ProviderRegistry
from kura_core.regions import RegionCatalog

if TYPE_CHECKING:
    import click

ENTRY_POINT_GROUP = "kura"
LOAD_ENV = "KURA_LOAD_PLUGINS"
DISABLED_ENV = "KURA_DISABLED_PLUGINS"
DEFAULT_PLUGINS: tuple[str, ...] = ("kura_core.builtin",)


@dataclass(frozen=True)
class PluginInfo:
    """What ``kura plugins`` shows for one loaded plugin."""

    name: str
    hooks: tuple[str, ...]
    distribution: str | None
    version: str | None
    providers: tuple[str, ...] = ()


def _names(value: str) -> set[str]:
    return {part.strip() for part in value.split(",") if part.strip()}


class PluginHost:
    """One pluggy manager plus typed access to what its plugins register."""

    def __init__(
        self,
        *,
        environ: Mapping[str, str] | None = None,
        load_entry_points: bool = True,
        default_plugins: tuple[str, ...] = DEFAULT_PLUGINS,
    ) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        self.problems: list[str] = []
        self._distributions: dict[str, metadata.Distribution] = {}
        # Plugin name -> the providers it registered, filled when the providers are collected.
        self._provided: dict[str, list[str]] = {}
        for module_name in default_plugins:
            self.register(importlib.import_module(module_name), name=module_name)
        if load_entry_points:
            self._load_entry_points(environ if environ is not None else {})
        self.check_pending()

    # --- loading ----------------------------------------------------------------------------

    def register(self, plugin: object, *, name: str) -> bool:
        """Register ``plugin``; one whose hooks do not fit the specs is reported and skipped."""
        try:
            self.pm.register(plugin, name=name)
        except (pluggy.PluginValidationError, ValueError) as exc:
            self.problems.append(f"plugin {name!r} skipped: {exc}")
            return False
        wrappers = sorted(
            caller.name
            for caller in self.pm.get_hookcallers(plugin) or []
            for impl in caller.get_hookimpls()
            if impl.plugin is plugin and (impl.wrapper or impl.hookwrapper)
        )
        if wrappers:
            # Each plugin's registrations are collected on their own, so a wrapper would wrap
            # only its own plugin's call: it could never see or change the others' results.
            self.pm.unregister(plugin)
            self.problems.append(
                f"plugin {name!r} skipped: {', '.join(wrappers)} cannot be a wrapper hook "
                "(registration hooks are called once per plugin)"
            )
            return False
        self.__dict__.pop("providers", None)
        self.__dict__.pop("catalogs", None)
        return True

    def _load_entry_points(self, environ: Mapping[str, str]) -> None:
        allowed = _names(environ[LOAD_ENV]) if LOAD_ENV in environ else None
        disabled = _names(environ.get(DISABLED_ENV, ""))
        entry_points = sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name)
        installed = {ep.name for ep in entry_points} | {
            ep.dist.name for ep in entry_points if ep.dist is not None
        }
        # A misspelt name would otherwise load nothing, or block nothing, without a word.
        for variable, names in ((LOAD_ENV, allowed or set()), (DISABLED_ENV, disabled)):
            self.problems.extend(
                f"{variable} names {name!r}, which is no installed plugin "
                f"(installed: {', '.join(sorted(installed)) or 'none'})"
                for name in sorted(names - installed)
            )
        for ep in entry_points:
            dist_name = ep.dist.name if ep.dist is not None else None
            aliases = {ep.name} | ({dist_name} if dist_name else set())
            if allowed is not None and not aliases & allowed:
                continue
            if aliases & disabled:
                self.pm.set_blocked(ep.name)
                continue
            if self.pm.has_plugin(ep.name):
                continue
            try:
                plugin = ep.load()
            except Exception as exc:
                self.problems.append(
                    f"plugin {ep.name!r} failed to load and was skipped: "
                    f"{type(exc).__name__}: {exc}"
                )
                continue
            if self.register(plugin, name=ep.name) and ep.dist is not None:
                self._distributions[ep.name] = ep.dist

    def check_pending(self) -> None:
        """Unregister every plugin with a hook implementation that matches no spec."""
        while True:
            try:
                self.pm.check_pending()
            except pluggy.PluginValidationError as exc:
                name = self.pm.get_name(exc.plugin) or repr(exc.plugin)
                self.problems.append(f"plugin {name!r} skipped: {exc}")
                self.pm.unregister(exc.plugin)
                continue
            return

    # --- calling hooks ------------------------------------------------------------------------

    def _call_each(self, hook_name: str, collect: Callable[[str, list[Any]], None]) -> None:
        """Call the hook once per plugin, in pluggy's order, so one failure skips only that plugin.

        Each call goes through a pluggy hook caller that holds just that plugin's implementation,
        so pluggy does the calling: an implementation may take fewer arguments than the spec, and
        ``tryfirst``/``trylast`` order the plugins. Each gets a fresh ``register`` callback; what
        it registered is handed to ``collect`` only when the call returned normally.
        """
        for plugin_name, caller in self._callers_per_plugin(hook_name):
            registered: list[Any] = []

            def register(*args: Any, _into: list[Any] = registered) -> None:
                _into.append(args[0] if len(args) == 1 else args)

            try:
                caller(register=register)
                collect(plugin_name, registered)
            except Exception as exc:
                self.problems.append(
                    f"plugin {plugin_name!r}: {hook_name} failed and was skipped: {exc}"
                )

    def _callers_per_plugin(self, hook_name: str) -> list[tuple[str, pluggy.HookCaller]]:
        """One hook caller per implementing plugin, in the order pluggy would call them."""
        impls = getattr(self.pm.hook, hook_name).get_hookimpls()
        # pluggy calls the last of get_hookimpls() first.
        ordered = [impl.plugin for impl in reversed(impls)]
        return [
            (
                self.pm.get_name(plugin) or repr(plugin),
                self.pm.subset_hook_caller(
                    hook_name, remove_plugins=[other for other in ordered if other is not plugin]
                ),
            )
            for plugin in ordered
        ]

    @cached_property
    def providers(self) -> ProviderRegistry:
        registry = ProviderRegistry()
        self._provided = {}

        def collect_lbs(plugin: str, items: list[Any]) -> None:
            staged = ProviderRegistry()
            staged.load_balancers = dict(registry.load_balancers)
            for provider in items:
                staged.add_load_balancer(provider)
            registry.load_balancers = staged.load_balancers
            self._provided.setdefault(plugin, []).extend(
                f"{provider.name} (load balancer)" for provider in items
            )

        def collect_ingresses(plugin: str, items: list[Any]) -> None:
            staged = ProviderRegistry()
            staged.ingresses = dict(registry.ingresses)
            for provider in items:
                staged.add_ingress(provider)
            registry.ingresses = staged.ingresses
            self._provided.setdefault(plugin, []).extend(
                f"{provider.name} (ingress)" for provider in items
            )

        self._call_each("kura_register_load_balancer_providers", collect_lbs)
        self._call_each("kura_register_ingress_providers", collect_ingresses)
        return registry

    @cached_property
    def catalogs(self) -> dict[str, RegionCatalog]:
        """Region catalogs per environment, merged across plugins."""
        merged: dict[str, list[Any]] = {}

        def collect(plugin: str, items: list[Any]) -> None:
            staged: dict[str, list[Any]] = {env: list(regions) for env, regions in merged.items()}
            for item in items:
                if not (isinstance(item, tuple) and len(item) == 2):
                    raise PluginError("register(env, catalog) takes an env name and a catalog")
                env, catalog = item
                if not isinstance(catalog, RegionCatalog):
                    raise PluginError(f"{catalog!r} is not a RegionCatalog")
                known = {region.id for region in staged.get(env, [])}
                clashes = sorted(known & set(catalog.ids))
                if clashes:
                    raise PluginError(f"env {env!r} already defines region(s) {', '.join(clashes)}")
                staged.setdefault(env, []).extend(catalog)
            merged.clear()
            merged.update(staged)

        self._call_each("kura_register_regions", collect)
        return {env: RegionCatalog(regions) for env, regions in merged.items()}

    def catalog(self, env: str) -> RegionCatalog:
        try:
            return self.catalogs[env]
        except KeyError:
            known = ", ".join(sorted(self.catalogs)) or "none"
            raise InputError(f"unknown env {env!r} (known: {known})") from None

    def load_balancer_provider(self, name: str) -> LoadBalancerProvider:
        return self.providers.load_balancer(name)

    def ingress_provider(self, name: str) -> IngressProvider:
        return self.providers.ingress(name)

    def add_commands(self, cli: click.Group) -> None:
        """Let plugins add commands; a name clash is reported and the plugin's command skipped."""
        import click

        for plugin_name, caller in self._callers_per_plugin("kura_register_commands"):
            staging = click.Group(name=cli.name)
            try:
                caller(cli=staging)
            except Exception as exc:
                self.problems.append(
                    f"plugin {plugin_name!r}: kura_register_commands failed and was skipped: {exc}"
                )
                continue
            for name, command in staging.commands.items():
                if name in cli.commands:
                    self.problems.append(
                        f"plugin {plugin_name!r}: command {name!r} already exists; skipped"
                    )
                    continue
                cli.add_command(command, name)

    # --- introspection ------------------------------------------------------------------------

    def plugin_infos(self) -> list[PluginInfo]:
        self.providers  # noqa: B018  (collecting the providers records who registered them)
        infos = []
        for name, plugin in self.pm.list_name_plugin():
            if plugin is None:
                continue
            hooks = tuple(sorted(caller.name for caller in self.pm.get_hookcallers(plugin) or []))
            dist = self._distributions.get(name)
            infos.append(
                PluginInfo(
                    name=name,
                    hooks=hooks,
                    distribution=dist.name if dist is not None else None,
                    version=dist.version if dist is not None else _core_version(name),
                    providers=tuple(self._provided.get(name, ())),
                )
            )
        return sorted(infos, key=lambda info: info.name)


def _core_version(plugin_name: str) -> str | None:
    if plugin_name.startswith("kura_core."):
        return metadata.version("kura-core")
    return None
