# Logistics: a freight carrier's operations desk.
domain logistics
about freight carrier operations: shipper accounts, warehouses and pallet capacity, shipments, pickups, drivers, fleet vehicles, routes, maintenance, invoices and claims
brand Ironline Freight | Bluewater Logistics | Crossroads Carriers | Summit Haulage | Keystone Cargo

table shippers shipper core rows 12-22 create
  label name company
  col contact_email email
  col phone phone opt edit
  col city city opt
  col account_tier enum(standard,priority,enterprise) edit
  col payment_terms_days int(15,60) opt edit
  col credit_limit money(2000,50000) opt edit
  status status active:8 on_hold:2 closed:1
  action place_on_hold "put the account of {it} on hold" active -> on_hold
  action release_hold "release the hold on the account of {it}" on_hold -> active
  action close "close the account of {it}" active,on_hold -> closed

table warehouses warehouse core rows 5-8 create
  label name pick(Northgate Distribution Center|Riverside Cross-Dock|Lakeshore Fulfilment Hub|Summit Freight Terminal|Prairie Logistics Park|Bayview Cold Store|Ironwood Depot|Eastport Transload Yard|Canyon Ridge DC|Maple Junction Warehouse|Harborline Terminal|Redstone Freight Hub|Pinecrest Logistics Center|Gateway Intermodal Yard|Silver Creek Depot|Foxhollow Distribution)
  col city city
  col open_pallet_slots int(0,120) edit
  col dock_doors int(4,40) opt
  col temperature_control enum(ambient,chilled,frozen) opt
  col manager person opt edit
  status status operational:6 maintenance:1 closed:1
  action start_maintenance "take {it} offline for maintenance" operational -> maintenance
  action reopen "bring {it} back into operation" maintenance -> operational

table drivers driver core rows 12-22 create
  label full_name person
  col email email opt
  col phone phone edit
  col license_class enum(class_a,class_b,class_c) edit
  col years_experience int(1,30) opt
  col home_city city opt edit
  col hazmat_certified bool opt edit
  status status available:5 on_route:4 off_duty:2 suspended:1
  action suspend "suspend {it}" available,on_route,off_duty -> suspended
  action reinstate "reinstate {it}" suspended -> available
  action mark_off_duty "mark {it} as off duty" available -> off_duty

table vehicles vehicle core rows 10-18 create
  label fleet_number code(FLT)
  col vehicle_type enum(box_truck,semi_trailer,cargo_van,flatbed,refrigerated_truck)
  col make_model pick(Freightliner Cascadia|Volvo VNL 860|Kenworth T680|Peterbilt 579|Isuzu NPR|Ford Transit 350|Mercedes Sprinter|International LT|Mack Anthem|Hino 268) opt
  col payload_kg int(1500,24000)
  col odometer_km int(5000,480000) opt edit
  col last_inspection pastdate(180) opt
  status status in_service:6 in_shop:2 retired:1
  action send_to_shop "send {it} to the shop" in_service -> in_shop
  action return_to_service "return {it} to service" in_shop -> in_service
  action retire "retire {it} from the fleet" in_service,in_shop -> retired

table routes route core rows 6-12 create delete
  label name combo(Northern|Southern|Coastal|Interstate|Metro|Valley|Mountain|Lakeside|Desert|Prairie ; Express|Loop|Corridor|Line|Connector|Run)
  ref origin_warehouse_id warehouses
  col destination_city city
  col distance_km int(20,1800)
  col transit_days int(1,5) edit
  col toll_cost money(0,240) opt edit
  status status active:5 suspended:1
  action suspend "suspend {it}" active -> suspended
  action resume "resume service on {it}" suspended -> active

table shipments shipment core rows 24-40 create
  label tracking_number code(SHP)
  ref shipper_id shippers
  ref warehouse_id warehouses consumes open_pallet_slots by pallets
  ref route_id routes opt
  col pallets int(1,12)
  col weight_kg int(50,9000)
  col service_level enum(standard,expedited,overnight,freight)
  col declared_value money(200,25000) opt
  col ship_by futuredate(14) opt edit
  col hazmat bool opt
  status status booked:4 picked_up:3 in_transit:4 delivered:5 cancelled:1 exception:1
  action cancel "cancel {it}" booked -> cancelled
  action mark_in_transit "mark {it} as in transit" picked_up -> in_transit
  action mark_delivered "mark {it} as delivered" in_transit -> delivered
  action flag_exception "flag {it} as a delivery exception" picked_up,in_transit -> exception

table pickups pickup core rows 14-26 create
  label pickup_number code(PU)
  ref shipment_id shipments
  ref driver_id drivers
  ref vehicle_id vehicles opt
  col scheduled_for future(7) edit
  col time_window enum(early_morning,morning,midday,afternoon,evening) edit
  col dock_door int(1,40) opt
  status status scheduled:4 completed:4 missed:1 cancelled:1
  action complete "mark {it} as completed" scheduled -> completed
  action mark_missed "mark {it} as missed" scheduled -> missed
  action cancel "cancel {it}" scheduled -> cancelled

table fuel_logs fuel_log rows 6-14 create delete
  label receipt_number code(FUEL)
  ref vehicle_id vehicles
  ref driver_id drivers opt
  col liters int(40,600)
  col cost money(60,900)
  col station_city city opt
  col filled_at past(30)

table maintenance_orders maintenance_order rows 4-10 create
  label work_order code(WO)
  ref vehicle_id vehicles
  col service_type enum(oil_change,brake_service,tire_rotation,engine_repair,annual_inspection,transmission)
  col estimated_cost money(150,6000) edit
  col due_on futuredate(30) opt edit
  col shop_name pick(Interstate Truck Care|Big Rig Repair|FleetPro Service|Diesel Doctors|Highway Heavy Duty|Axle and Iron) opt
  status status open:3 in_progress:2 completed:3 cancelled:1
  action start "start work on {it}" open -> in_progress
  action complete "complete {it}" in_progress -> completed
  action cancel "cancel {it}" open -> cancelled

table freight_invoices freight_invoice rows 6-14 create
  label invoice_number code(INV)
  ref shipper_id shippers
  ref shipment_id shipments opt
  col amount money(120,8000)
  col due_on futuredate(45) edit
  col fuel_surcharge money(10,600) opt
  status status issued:4 paid:4 overdue:2 void:1
  action mark_paid "mark {it} as paid" issued,overdue -> paid
  action void "void {it}" issued,overdue -> void

table damage_claims damage_claim rows 3-8 create
  label claim_number code(CLM)
  ref shipment_id shipments
  col claim_type enum(damaged,lost,shortage,late_delivery,temperature_excursion)
  col claimed_amount money(50,5000) edit
  col filed_on pastdate(30) opt
  status status submitted:3 under_review:2 approved:2 denied:1
  action review "start reviewing {it}" submitted -> under_review
  action approve "approve {it}" under_review -> approved
  action deny "deny {it}" submitted,under_review -> denied

table rate_cards rate_card rows 4-8 create delete
  label name combo(Regional|National|Cross-Border|Last-Mile|LTL|Truckload ; Standard|Saver|Premium|Contract)
  ref shipper_id shippers opt
  col rate_per_km money(1,6) edit
  col fuel_surcharge_percent int(5,30) edit
  col valid_until futuredate(180) opt
  status status active:4 expired:1
  action retire "retire {it}" active -> expired
  action reinstate "reinstate {it}" expired -> active
