# Parking: a city parking operator's back office.
domain parking
about parking operator back office: garages and lots with open spaces, registered drivers and vehicles, monthly permits, reservations that hold spaces, parking sessions, citations and appeals, payments, permit waitlists and maintenance
brand MetroPark | CityLot Systems | Blue Line Parking | Keystone Garages | ParkWell | Curbside Civic Parking

table garages garage core rows 3-6 create
  label name pick(Civic Center Garage|Union Square Lot|Harbor Street Deck|Airport Long-Term Lot|Midtown Plaza Garage|Riverside Surface Lot|Stadium North Lot|Library Garage|Market Street Deck|Convention Center Garage)
  col street_address street
  col city city
  col spaces_available int(0,300)
  col hourly_rate money(2,12) edit
  col daily_max money(12,45) opt edit
  col ev_chargers int(0,24) opt
  col levels int(1,8) opt
  status status open:5 full:1 closed_for_maintenance:1
  action mark_full "mark {it} as full" open -> full
  action close "close {it} for maintenance" open,full -> closed_for_maintenance
  action reopen "reopen {it}" full,closed_for_maintenance -> open

table drivers driver core rows 12-26 create
  label full_name person
  col email email
  col phone phone edit
  col account_balance money(0,200) opt
  col license_number code(DL) opt
  col autopay bool opt edit
  status status active:8 suspended:1 closed:1
  action suspend "suspend the account for {it}" active -> suspended
  action reinstate "reinstate the account for {it}" suspended -> active
  action close "close the account for {it}" active,suspended -> closed

table vehicles vehicle core rows 14-30 create delete
  label plate combo(AKR|BXT|CJN|DLW|EMP|FRZ|GHT|JKV|LNX|MPQ|RSV|TWY ; 1043|2187|3356|4920|5271|6618|7094|8432|9125|0587)
  ref driver_id drivers
  col make pick(Toyota|Honda|Ford|Chevrolet|Subaru|Tesla|Hyundai|Kia|Nissan|Volkswagen|Mazda|BMW)
  col vehicle_type enum(sedan,suv,pickup,hatchback,motorcycle,van)
  col color enum(black,white,silver,gray,blue,red,green) opt edit
  col electric bool opt
  status status registered:8 flagged:1 towed:1
  action flag "flag {it} for enforcement" registered -> flagged
  action clear_flag "clear the enforcement flag on {it}" flagged -> registered
  action mark_towed "mark {it} as towed" registered,flagged -> towed
  action release "release {it} from the impound lot" towed -> registered

table permits permit core rows 10-22 create
  label permit_number code(PMT)
  ref driver_id drivers
  ref garage_id garages
  ref vehicle_id vehicles opt
  col permit_type enum(monthly,annual,residential,employee,ev_reserved)
  col monthly_fee money(60,350) edit
  col valid_until futuredate(365)
  status status active:6 suspended:1 expired:2 revoked:1
  action suspend "suspend {it}" active -> suspended
  action reinstate "reinstate {it}" suspended -> active
  action renew "renew {it}" expired -> active
  action revoke "revoke {it}" active,suspended -> revoked

table reservations reservation core rows 12-28 create
  label confirmation_code code(RSV)
  ref driver_id drivers
  ref garage_id garages consumes spaces_available by spaces_reserved
  ref vehicle_id vehicles opt
  col spaces_reserved int(1,3)
  col starts_at future(14)
  col hours int(1,12)
  col prepaid_amount money(5,80) opt
  status status booked:5 checked_in:2 completed:4 cancelled:1 no_show:1
  action check_in "check in {it}" booked -> checked_in
  action complete "mark {it} as completed" checked_in -> completed
  action cancel "cancel {it}" booked -> cancelled
  action mark_no_show "mark {it} as a no-show" booked -> no_show

table parking_sessions parking_session core rows 10-24 create
  label ticket_number code(TKT)
  ref garage_id garages
  ref vehicle_id vehicles opt
  col entered_at past(3)
  col hours_parked int(1,24) opt
  col amount_due money(2,45)
  status status active:4 paid:6 unpaid:1 voided:1
  action mark_paid "mark {it} as paid" active,unpaid -> paid
  action mark_unpaid "close {it} as unpaid" active -> unpaid
  action void "void {it}" active,unpaid -> voided

table citations citation core rows 10-22 create
  label citation_number code(CIT)
  ref vehicle_id vehicles
  ref garage_id garages opt
  col violation enum(expired_meter,no_permit,blocking_ev_charger,double_parked,reserved_space,fire_lane,overtime)
  col fine money(25,250)
  col issued_at past(60)
  col due_date futuredate(30) opt
  status status issued:4 appealed:2 upheld:1 dismissed:1 paid:3
  action appeal "file an appeal for {it}" issued -> appealed
  action dismiss "dismiss {it}" appealed -> dismissed
  action uphold "uphold {it}" appealed -> upheld
  action pay "mark {it} as paid" issued,upheld -> paid

table appeals appeal rows 4-10 create
  label appeal_number code(APL)
  ref citation_id citations
  col grounds enum(signage_unclear,meter_broken,valid_permit_displayed,vehicle_sold,medical_emergency)
  col submitted_on pastdate(30)
  status status pending:3 under_review:2 granted:2 denied:2
  action start_review "start reviewing {it}" pending -> under_review
  action grant "grant {it}" pending,under_review -> granted
  action deny "deny {it}" pending,under_review -> denied

table payments payment rows 8-20 create
  label receipt_number code(RCP)
  ref driver_id drivers
  ref citation_id citations opt
  ref permit_id permits opt
  col amount money(5,400)
  col method enum(card,mobile_wallet,cash,ach)
  col paid_at past(90)
  status status pending:2 completed:6 failed:1 refunded:1
  action complete "mark {it} as completed" pending -> completed
  action mark_failed "mark {it} as failed" pending -> failed
  action refund "refund {it}" completed -> refunded

table waitlist_entries waitlist_entry rows 4-10 create delete
  label entry_code code(WL)
  ref driver_id drivers
  ref garage_id garages
  col requested_permit enum(monthly,annual,residential)
  col position int(1,40)
  status status waiting:5 offered:2 accepted:1 withdrawn:1
  action offer "offer a permit for {it}" waiting -> offered
  action accept "accept the offer on {it}" offered -> accepted
  action withdraw "withdraw {it}" waiting,offered -> withdrawn

table maintenance_tickets maintenance_ticket rows 4-10 create
  label ticket_code code(MNT)
  ref garage_id garages
  col issue enum(broken_gate,lighting_out,pothole,ev_charger_fault,elevator_down,payment_kiosk_fault,flooding)
  col priority enum(low,medium,high) edit
  col reported_at past(30)
  status status open:3 scheduled:2 resolved:4
  action schedule "schedule a repair for {it}" open -> scheduled
  action resolve "resolve {it}" open,scheduled -> resolved
