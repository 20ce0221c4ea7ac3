"""What makes a KuraInstance's children invalid or unsafe, found before any write."""

from __future__ import annotations

from kura_core import InputError, KuraInstance, is_dns_label
from kura_operator.instance_env import env_problems

# A StatefulSet's pods carry controller-revision-hash=<name>-<hash of up to 10 characters>, a
# label value (at most 63 characters); a longer name makes every pod creation fail.
INSTANCE_NAME_MAX = 52


def check_instance(instance: KuraInstance) -> None:
    """Everything that would make a child invalid or unsafe, as one ``InputError``.

    A real API server would refuse such children one by one, and forever; the operator refuses
    the instance instead, before it writes anything.
    """
    # The field rules (names, hosts, sizes, labels) are the model's, checked when it was parsed.
    problems: list[str] = []
    name = instance.metadata.name
    if not is_dns_label(name) or not name[0].isalpha() or len(name) > INSTANCE_NAME_MAX:
        problems.append(
            f"the name {name!r} must be a DNS label starting with a letter, at most "
            f"{INSTANCE_NAME_MAX} characters (it names the Services and the StatefulSet's pods)"
        )
    problems.extend(env_problems(instance))
    if problems:
        raise InputError(f"KuraInstance {name}: {'; '.join(problems)}")
