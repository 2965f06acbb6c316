# Veterinary: a small-animal clinic's front desk and pharmacy.
domain veterinary
about veterinary clinic front desk: pet owners, pets, veterinarians, appointments, vaccinations, treatments, prescriptions, medication stock, invoices, insurance and boarding
brand Pawsitive Care Clinic | Willow Creek Animal Hospital | Northside Vets | Harbor Paws Veterinary | Cedar Ridge Animal Clinic

table owners owner core rows 12-24 create
  label full_name person
  col email email
  col phone phone edit
  col city city opt edit
  col preferred_contact enum(phone,email,sms) opt edit
  col account_balance money(0,300) opt
  status status active:8 on_hold:1 inactive:1
  action hold "put {it} on hold" active -> on_hold
  action release_hold "take {it} off hold" on_hold -> active
  action deactivate "deactivate {it}" active,on_hold -> inactive

table vets vet core rows 4-8 create
  label full_name person
  col email email
  col specialty enum(general_practice,surgery,dentistry,dermatology,exotics,cardiology) edit
  col license_number code(LIC)
  col years_experience int(1,30) opt
  col phone_extension int(100,499) opt edit
  status status on_duty:6 on_leave:2 retired:1
  action start_leave "put {it} on leave" on_duty -> on_leave
  action return_from_leave "mark {it} as back from leave" on_leave -> on_duty
  action retire "mark {it} as retired" on_duty,on_leave -> retired

table pets pet core rows 14-28 create
  label name pick(Luna|Bella|Max|Charlie|Milo|Daisy|Rocky|Coco|Bailey|Lucy|Oliver|Ziggy|Pepper|Maple|Scout|Olive|Teddy|Nala|Hazel|Buster|Willow|Jasper|Mochi|Pickles|Biscuit|Juniper|Waffles|Sadie|Tucker|Gizmo|Clementine|Otis|Marley|Peanut|Remy|Sunny|Pumpkin|Winston|Poppy|Ruby|Banjo|Cleo|Duke|Finn|Ginger)
  ref owner_id owners
  col species enum(dog,cat,rabbit,guinea_pig,bird,ferret)
  col sex enum(male,female)
  col weight_in_kg int(1,45) edit
  col neutered bool opt edit
  col date_of_birth pastdate(5000) opt
  col microchip_number code(CHIP) opt
  status status active:9 transferred:1 deceased:1
  action transfer "mark {it} as transferred to another clinic" active -> transferred
  action record_death "record {it} as deceased" active -> deceased

table medications medication core rows 6-12 create
  label name pick(Amoxicillin 250mg|Carprofen 75mg|Meloxicam Oral Suspension|Gabapentin 100mg|Apoquel 16mg|Cephalexin 500mg|Metronidazole 250mg|Prednisolone 5mg|Simparica Trio|NexGard Plus|Revolution Plus|Bravecto Chew|Clavamox 62.5mg|Cerenia 24mg|Trazodone 50mg|Famotidine 10mg|Enrofloxacin 68mg|Buprenorphine Solution)
  col form enum(tablet,capsule,liquid,injection,chewable,topical)
  col units_in_stock int(0,200) edit
  col unit_price money(1,40) edit
  col reorder_level int(5,30) opt edit
  col controlled_substance bool opt
  status status available:8 backordered:2 discontinued:1
  action mark_backordered "mark {it} as backordered" available -> backordered
  action restock "mark {it} as available again" backordered -> available
  action discontinue "discontinue {it}" available,backordered -> discontinued

table exam_rooms exam_room rows 3-6 create
  label name pick(Exam Room 1|Exam Room 2|Exam Room 3|Exam Room 4|Surgery Suite|Dental Suite|Isolation Ward|Treatment Bay|Feline Exam Room|Imaging Room)
  col room_type enum(exam,surgery,dental,isolation,imaging)
  col has_scale bool opt
  status status in_service:5 cleaning:1 out_of_service:1
  action take_out_of_service "take {it} out of service" in_service,cleaning -> out_of_service
  action return_to_service "put {it} back in service" cleaning,out_of_service -> in_service

table appointments appointment core rows 14-30 create
  label booking_ref code(APT)
  ref pet_id pets
  ref vet_id vets
  ref exam_room_id exam_rooms opt
  col reason enum(wellness_exam,vaccination,sick_visit,dental_cleaning,surgery_consult,follow_up,nail_trim)
  col scheduled_for future(30)
  col duration_minutes int(15,90) opt edit
  col notes pick(Owner reports limping|Not eating well|Annual checkup|Post-surgery recheck|Itchy skin|Vomiting since yesterday|Ear infection follow-up|New patient visit) opt edit
  status status scheduled:5 checked_in:2 completed:5 cancelled:1 no_show:1
  action check_in "check in {it}" scheduled -> checked_in
  action complete "mark {it} as completed" checked_in -> completed
  action cancel "cancel {it}" scheduled -> cancelled
  action mark_no_show "mark {it} as a no-show" scheduled -> no_show

table prescriptions prescription core rows 8-20 create
  label rx_number code(RX)
  ref pet_id pets
  ref medication_id medications consumes units_in_stock by quantity
  ref vet_id vets opt
  col quantity int(1,30)
  col dosage_instructions pick(Once daily with food|Twice daily with food|Every 8 hours|Once daily at bedtime|As needed for pain|Apply once monthly|Every 12 hours for 10 days)
  col refills_remaining int(0,3) opt edit
  col prescribed_on pastdate(90)
  status status active:5 filled:4 cancelled:1 expired:1
  action fill "mark {it} as filled" active -> filled
  action cancel "cancel {it}" active -> cancelled

table vaccinations vaccination rows 8-20 create
  label certificate_number code(VAC)
  ref pet_id pets
  ref vet_id vets opt
  col vaccine enum(rabies,dhpp,bordetella,leptospirosis,fvrcp,felv,lyme,canine_influenza)
  col administered_on pastdate(365)
  col due_on futuredate(365)
  col lot_number code(LOT) opt
  status status current:6 expiring:2 lapsed:1 voided:1
  action mark_lapsed "mark {it} as lapsed" current,expiring -> lapsed
  action void "void {it}" current,expiring,lapsed -> voided

table treatments treatment rows 8-20 create delete
  label treatment_code code(TRT)
  ref appointment_id appointments
  col procedure pick(Dental scaling|Wound cleaning and sutures|Ear flush|Blood panel|X-ray|Ultrasound|Spay surgery|Neuter surgery|Mass removal|Fluid therapy|Allergy testing|Eye exam)
  col cost money(20,1500) edit
  col anesthesia_required bool opt
  status status planned:4 in_progress:2 completed:5 declined:1
  action start "start {it}" planned -> in_progress
  action complete "mark {it} as completed" in_progress -> completed
  action decline "record that the owner declined {it}" planned -> declined

table invoices invoice core rows 12-24 create
  label invoice_number code(INV)
  ref owner_id owners
  ref appointment_id appointments opt
  col amount money(40,2500)
  col due_date futuredate(30)
  col payment_method enum(card,cash,pet_insurance,payment_plan) opt edit
  status status open:4 paid:5 overdue:2 written_off:1
  action mark_paid "mark {it} as paid" open,overdue -> paid
  action mark_overdue "mark {it} as overdue" open -> overdue
  action write_off "write off {it}" overdue -> written_off

table insurance_policies insurance_policy rows 4-10 create delete
  label policy_number code(POL)
  ref pet_id pets
  col provider pick(Trupanion|Healthy Paws|Nationwide Pet|Embrace|Lemonade Pet|Figo|Pets Best|ASPCA Pet Health)
  col coverage_percent int(70,90) edit
  col annual_limit money(2000,20000)
  status status active:6 lapsed:2 cancelled:1
  action reinstate "reinstate {it}" lapsed -> active
  action cancel "cancel {it}" active,lapsed -> cancelled

table kennels kennel rows 3-6 create
  label name pick(Kennel Row A|Kennel Row B|Kennel Row C|Cattery|Small Pets Room|Large Dog Suites|Quiet Ward|Garden Runs)
  col open_runs int(0,12)
  col nightly_rate money(30,85) edit
  col climate_controlled bool opt
  status status open:5 closed:1
  action close "close {it}" open -> closed
  action reopen "reopen {it}" closed -> open

table boarding_stays boarding_stay rows 4-10 create
  label stay_code code(BRD)
  ref pet_id pets
  ref kennel_id kennels consumes open_runs by runs
  col runs int(1,2)
  col check_in_date futuredate(30)
  col nights int(1,14)
  col special_diet bool opt
  status status reserved:4 checked_in:3 checked_out:4 cancelled:1
  action check_in "check in {it}" reserved -> checked_in
  action check_out "check out {it}" checked_in -> checked_out
  action cancel "cancel {it}" reserved -> cancelled
