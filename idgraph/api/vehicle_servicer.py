"""VehicleService: a vehicle's make, model, year, current owner and history."""

from __future__ import annotations

import grpc

from idgraph.api.auth import current_caller
from idgraph.api.convert import datetime_to_timestamp, tag_to_proto, vehicle_relation_to_proto
from idgraph.api.identity_servicer import remaining
from idgraph.audit import ReadAudit
from idgraph.domain.vehicles import Period
from idgraph.engine import Reads
from idgraph.errors import InvalidInput
from idgraph.v1 import identity_pb2 as ipb
from idgraph.v1 import vehicle_pb2 as pb
from idgraph.v1 import vehicle_pb2_grpc as pb_grpc


class VehicleServicer(pb_grpc.VehicleServiceServicer):
    """Thin edge over the vehicle look-up."""

    def __init__(self, reads: Reads, audit: ReadAudit | None = None) -> None:
        self.reads = reads
        self.audit = audit or ReadAudit(None)

    def GetVehicle(self, request: pb.GetVehicleRequest,
                   context: grpc.ServicerContext) -> pb.GetVehicleResponse:
        if not request.vin.strip():
            raise InvalidInput.one("vin", "required")
        history = self.reads.vehicle(request.vin, remaining(context))
        self.audit.record("GetVehicle", current_caller().actor,
                          [p.one_id for p in (*history.owners, *history.others)])
        return pb.GetVehicleResponse(
            vin=history.vin, make=history.make, model=history.model,
            model_year=history.model_year or 0, plate=history.plate,
            current_owner_one_id=history.owner,
            owners=[_period(p) for p in history.owners],
            others=[_period(p) for p in history.others],
            tags=[tag_to_proto(t) for t in history.tags])


def _period(period: Period) -> pb.VehiclePeriod:
    return pb.VehiclePeriod(
        one_id=period.one_id, relation=vehicle_relation_to_proto(period.relation),
        since=datetime_to_timestamp(period.since), until=datetime_to_timestamp(period.until),
        current=period.current,
        records=[ipb.RecordRef(source=s, source_record_id=r) for s, r in period.sources])
