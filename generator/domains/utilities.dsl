# Utilities: an energy and water utility's customer service and field operations desk.
domain utilities
about energy and water utility customer service: customers, service accounts, tariffs, meters, meter readings, bills, payments, payment plans, field crews, service visits and outages
brand Tri-Valley Power & Water | Northern Lights Energy | Clearwater Municipal Utilities | Sunridge Electric Cooperative | Bayside Gas & Electric

table service_areas service_area rows 4-8 create
  label name pick(North District|South District|East Side|West End|Downtown Grid|Hillcrest|Riverside|Lakeview|Industrial Park|Airport Corridor|Old Mill|Pine Ridge)
  col substation pick(Substation A|Substation B|Substation C|Substation D|Substation E) opt
  col households_served int(800,25000)
  status status normal:6 on_storm_alert:1
  action raise_storm_alert "raise a storm alert for {it}" normal -> on_storm_alert
  action clear_storm_alert "clear the storm alert for {it}" on_storm_alert -> normal

table tariffs tariff core rows 4-7 create
  label name pick(Residential Standard|Residential Time-of-Use|Green Energy 100|Small Business|Commercial Demand|Water Residential|Water Irrigation|Income Assistance|EV Night Saver|Budget Flat Rate|Seasonal Cottage|Natural Gas Residential)
  col service enum(electricity,gas,water)
  col unit_rate_cents int(8,45) edit
  col standing_charge money(5,40) edit
  status status open:5 closed_to_new:1
  action close_to_new "close {it} to new customers" open -> closed_to_new
  action reopen "reopen {it} to new customers" closed_to_new -> open

table customers customer core rows 12-22 create
  label full_name person
  col email email
  col phone phone opt edit
  col preferred_contact enum(email,sms,mail,phone) opt edit
  col priority_services bool opt edit
  status status active:9 moved_out:1
  action mark_moved_out "record that {it} has moved out" active -> moved_out
  action reactivate "reactivate {it}" moved_out -> active

table service_accounts service_account core rows 14-26 create
  label service_address street
  ref customer_id customers
  ref tariff_id tariffs
  ref service_area_id service_areas opt
  col account_number code(UA)
  col balance_due money(20,900)
  col billing_cycle enum(monthly,bimonthly,quarterly) opt edit
  col paperless_billing bool opt edit
  col opened_on pastdate(3000) opt
  status status active:8 pending_disconnection:1 disconnected:1 closed:1
  action schedule_disconnection "schedule {it} for disconnection" active -> pending_disconnection
  action disconnect "disconnect {it}" pending_disconnection -> disconnected
  action restore "restore service on {it}" pending_disconnection,disconnected -> active
  action close "close {it}" active -> closed

table meters meter core rows 14-26 create
  label serial_number code(MTR)
  ref service_account_id service_accounts
  col meter_type enum(smart_electric,analog_electric,gas,water)
  col installed_on pastdate(3000)
  col location pick(Basement|Garage|Exterior wall|Utility closet|Curbside pit|Side yard|Crawl space) opt edit
  status status active:8 faulty:1 removed:1
  action flag_faulty "report {it} as faulty" active -> faulty
  action repair "mark {it} as repaired" faulty -> active
  action remove "remove {it} from service" active,faulty -> removed

table meter_readings meter_reading core rows 18-36 create
  label reference code(RD)
  ref meter_id meters
  col reading int(1000,99999)
  col read_on pastdate(90)
  col source enum(smart,field_technician,customer_submitted,estimated)
  status status pending:2 validated:6 disputed:1 rejected:1
  action validate "validate {it}" pending,disputed -> validated
  action dispute "dispute {it}" pending,validated -> disputed
  action reject "reject {it}" pending,disputed -> rejected

table bills bill core rows 14-28 create
  label bill_number code(BIL)
  ref service_account_id service_accounts
  col amount money(25,450)
  col usage_units int(50,2500) opt
  col period_end pastdate(60)
  col due_on futuredate(30)
  status status issued:4 paid:6 overdue:2 voided:1
  action pay "mark {it} as paid" issued,overdue -> paid
  action mark_overdue "mark {it} as overdue" issued -> overdue
  action void "void {it}" issued,overdue -> voided

table payments payment core rows 10-22 create
  label receipt_number code(PAY)
  ref service_account_id service_accounts consumes balance_due by amount
  col amount money(15,300)
  col method enum(card,bank_transfer,check,cash_at_agent,autopay)
  col paid_at past(60)
  status status posted:7 reversed:1
  action reverse "reverse {it}" posted -> reversed

table payment_plans payment_plan rows 4-10 create
  label plan_code code(PP)
  ref service_account_id service_accounts
  col total_owed money(150,1500)
  col installments int(3,12)
  col installment_amount money(25,300) opt
  col first_due_on futuredate(30)
  status status proposed:2 active:5 completed:2 defaulted:1 cancelled:1
  action approve "approve {it}" proposed -> active
  action mark_defaulted "mark {it} as defaulted" active -> defaulted
  action cancel "cancel {it}" proposed,active -> cancelled

table outages outage rows 3-8 create
  label incident_number code(OUT)
  ref service_area_id service_areas
  col service enum(electricity,gas,water)
  col cause enum(storm,equipment_failure,planned_maintenance,vehicle_accident,wildlife,unknown)
  col customers_affected int(20,4000)
  col started_at past(5)
  col estimated_restoration future(2) opt edit
  status status reported:2 crew_dispatched:2 restored:4
  action dispatch "dispatch a crew to {it}" reported -> crew_dispatched
  action restore "mark {it} as restored" reported,crew_dispatched -> restored

table crews crew rows 3-6 create
  label name combo(North|South|East|West|Central ; Line Crew|Meter Team|Service Crew|Gas Crew)
  ref service_area_id service_areas opt
  col supervisor person
  col available_hours int(0,40)
  status status on_duty:5 off_duty:1
  action stand_down "take {it} off duty" on_duty -> off_duty
  action call_in "put {it} on duty" off_duty -> on_duty

table service_visits service_visit rows 4-10 create
  label work_order code(WO)
  ref service_account_id service_accounts
  ref crew_id crews consumes available_hours by duration_hours
  col visit_type enum(meter_install,meter_exchange,reconnection,leak_investigation,safety_check)
  col duration_hours int(1,6)
  col scheduled_for futuredate(14)
  status status scheduled:4 completed:4 cancelled:1
  action complete "mark {it} as completed" scheduled -> completed
  action cancel "cancel {it}" scheduled -> cancelled
