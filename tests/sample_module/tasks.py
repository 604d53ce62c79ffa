from django_tasks import task

from dothi.core import audit


@task()
def heartbeat() -> str:
    """The sample's scheduled job: leaves a trace the tests can find."""
    audit.record(actor=None, action="update", object_type="sample.heartbeat", summary="beat")
    return "beat"
